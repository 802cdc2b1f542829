"""The user behind a token: lookup by ``USER_ID_FIELD``, activity check,
and the optional per-process cache (``USER_CACHE_TTL``).

The user is read through Django's public ORM API only: the user model's
default manager, ``get(**{USER_ID_FIELD: value})``. A custom default
manager (one that hides deleted users, say) therefore applies here as it
does everywhere else in the site, and the lookup keeps working across
Django upgrades. A value that matches two rows (a ``USER_ID_FIELD`` that
is not unique) is an error, never one of the two users.

With the cache off (the default) every authenticated request reads the
user row, so deactivating or deleting a user takes effect at once
everywhere. With ``USER_CACHE_TTL`` set, a process reuses an active user
for that long: saves and deletes in the same process clear the cache at
once, other processes see them within the TTL. The cache holds the user
as the manager returned it, pickled (Django's supported way to serialise a
model instance, annotations included); each request unpickles its own
instance, so nothing a view does to ``request.user``, or to a mutable
value on it, reaches another request. Bytes are also what a forked child
inherits safely; the TTL, on the monotonic clock, keeps counting there
from the moment the parent read the row.
"""

from __future__ import annotations

import contextlib
import pickle
import time
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from rest_framework import status

from tessera.django.conf import tessera_settings
from tessera.django.exceptions import TesseraAPIError

# str(user id) -> (monotonic deadline, the user as the manager returned it,
# pickled). Bytes, so no request can hold, or change, what is cached.
_cache: dict[str, tuple[float, bytes]] = {}


def load_user(user_id: object) -> AbstractBaseUser:
    """The active user whose ``USER_ID_FIELD`` is `user_id`.

    Raises a 401 ``user_not_found`` or ``user_inactive``.
    """
    options = tessera_settings()
    ttl = options.user_cache_ttl.total_seconds()
    key = str(user_id)
    if ttl:
        hit = _cache.get(key)
        if hit is not None and hit[0] > time.monotonic():
            # Bytes this process pickled itself; nothing else writes here.
            cached: AbstractBaseUser = pickle.loads(hit[1])
            return cached

    # The documented way for code that serves any model: its default
    # manager, custom or not.
    manager = get_user_model()._default_manager
    try:
        user = manager.get(**{options.user_id_field: user_id})
    except (ObjectDoesNotExist, ValueError, TypeError, ValidationError):
        raise TesseraAPIError("user_not_found", status_code=status.HTTP_401_UNAUTHORIZED) from None
    if not getattr(user, "is_active", True):
        raise TesseraAPIError("user_inactive", status_code=status.HTTP_401_UNAUTHORIZED)
    if ttl:
        # A manager that attaches something unpicklable: that user is not cached.
        with contextlib.suppress(pickle.PicklingError, TypeError, AttributeError):
            _cache[key] = (time.monotonic() + ttl, pickle.dumps(user, pickle.HIGHEST_PROTOCOL))
    return user


def forget_users() -> None:
    """Empties the user cache (on any save or delete of a user, and on settings changes)."""
    _cache.clear()


def user_id_of(user: AbstractBaseUser) -> str | int:
    """The value that identifies `user` in tokens: its ``USER_ID_FIELD``."""
    value = getattr(user, tessera_settings().user_id_field)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return str(value)


def user_body(user: AbstractBaseUser) -> dict[str, Any]:
    """``{"id", "email", "username"}``: the user as the API shows it."""
    email_field = user.get_email_field_name()
    return {
        "id": user_id_of(user),
        "email": getattr(user, email_field, "") or "",
        "username": user.get_username(),
    }
