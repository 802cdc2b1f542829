"""The user behind a token: lookup by ``USER_ID_FIELD``, activity check,
and the optional per-process cache (``USER_CACHE_TTL``).

With the cache off (the default) every authenticated request reads the
user row, so deactivating or deleting a user takes effect at once
everywhere. With ``USER_CACHE_TTL`` set, a process reuses an active user's
row for that long: saves and deletes in the same process clear the cache at
once, other processes see them within the TTL. Each request gets its own
model instance, rebuilt from the cached column values, so nothing a view
does to ``request.user`` leaks into another request.
"""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from rest_framework import status

from tessera.django.conf import tessera_settings
from tessera.django.exceptions import TesseraAPIError

# str(user id) -> (monotonic deadline, database alias, concrete field values)
_cache: dict[str, tuple[float, str, tuple[Any, ...]]] = {}


def load_user(user_id: object) -> AbstractBaseUser:
    """The active user whose ``USER_ID_FIELD`` is `user_id`.

    Raises a 401 ``user_not_found`` or ``user_inactive``.
    """
    options = tessera_settings()
    ttl = options.user_cache_ttl.total_seconds()
    model = get_user_model()
    key = str(user_id)
    if ttl:
        hit = _cache.get(key)
        if hit is not None and hit[0] > time.monotonic():
            _, db, values = hit
            attnames = [f.attname for f in model._meta.concrete_fields]
            return model.from_db(db, attnames, values)

    try:
        user = model._default_manager.get(**{options.user_id_field: user_id})
    except (ObjectDoesNotExist, ValueError, TypeError, ValidationError):
        raise TesseraAPIError("user_not_found", status_code=status.HTTP_401_UNAUTHORIZED) from None
    if not getattr(user, "is_active", True):
        raise TesseraAPIError("user_inactive", status_code=status.HTTP_401_UNAUTHORIZED)
    if ttl:
        values = tuple(getattr(user, f.attname) for f in model._meta.concrete_fields)
        _cache[key] = (time.monotonic() + ttl, user._state.db or "default", values)
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
