"""The user behind a token: lookup by ``USER_ID_FIELD``, activity check,
the per-process user cache, and the change stamps that keep it exact.

The user is read through Django's public ORM API only: the user model's
default manager, ``get(**{USER_ID_FIELD: value})``. A custom default
manager (one that hides deleted users, say) therefore applies here as it
does everywhere else in the site, and the lookup keeps working across
Django upgrades. A value that matches two rows (a ``USER_ID_FIELD`` that
is not unique) is an error, never one of the two users.

The cache is exact, not timed. The engine keeps a change stamp per user
in its store, which every process and host shares; every save or delete
of a user bumps it once the database transaction commits
(:mod:`tessera.django.receivers`), as do ``revoke_user``,
:func:`user_changed` and ``manage.py tessera_bump_user``. The JWT and PAT
authentication classes read the stamp in the same store read that checks
the token, and pass it here: a cached user is served only while the stamp
it was read at is still the store's. The stamp is read before the user
row, so a user cached at stamp ``s`` is at least as new as every change
whose bump made the stamp ``s``.

Invariants:
- the cache holds at most ``USER_CACHE_SIZE`` users (least recently used
  out first; 0 turns it off), each pickled (Django's supported way to
  serialise a model instance, annotations included): each request
  unpickles its own instance, so nothing a view does to ``request.user``
  reaches another request;
- it is read and written under one lock, and a forked child starts with
  it empty (and a lock of its own);
- a caller without a stamp (login, refresh) always reads the row, and
  caches nothing;
- inactive and missing users are never cached.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import threading
from collections import OrderedDict
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from rest_framework import status

from tessera.django.conf import tessera_settings
from tessera.django.exceptions import TesseraAPIError

# str(user id) -> (the stamp it was read at, the user as the manager
# returned it, pickled), least recently used first.
_cache: OrderedDict[str, tuple[int, bytes]] = OrderedDict()
_lock = threading.Lock()


def load_user(user_id: object, stamp: int | None = None) -> AbstractBaseUser:
    """The active user whose ``USER_ID_FIELD`` is `user_id`.

    With `stamp` (the user's change stamp, from a stamped verification),
    served from the cache when it holds the user at that stamp.
    Raises a 401 ``user_not_found`` or ``user_inactive``.
    """
    options = tessera_settings()
    size = options.user_cache_size if stamp is not None else 0
    key = str(user_id)
    if size:
        with _lock:
            hit = _cache.get(key)
            if hit is not None and hit[0] == stamp:
                _cache.move_to_end(key)
                pickled: bytes | None = hit[1]
            else:
                pickled = None
        if pickled is not None:
            # Bytes this process pickled itself; nothing else writes here.
            cached: AbstractBaseUser = pickle.loads(pickled)
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
    if size and stamp is not None:
        # A manager that attaches something unpicklable: that user is not cached.
        with contextlib.suppress(pickle.PicklingError, TypeError, AttributeError):
            data = pickle.dumps(user, pickle.HIGHEST_PROTOCOL)
            with _lock:
                _cache[key] = (stamp, data)
                _cache.move_to_end(key)
                while len(_cache) > size:
                    _cache.popitem(last=False)
    return user


def user_changed(user: AbstractBaseUser | str | int) -> int:
    """Tells every process and host that `user` (a user, or its
    ``USER_ID_FIELD`` value) changed: bumps its change stamp, so each
    process reads the row afresh at its next request. Saves and deletes
    through the ORM do this by themselves; call it after a change they do
    not see (``QuerySet.update``, raw SQL, another program writing the
    table). Returns the new stamp."""
    from tessera.django.engine import get_engine

    user_id = user if isinstance(user, str | int) else user_id_of(user)
    return get_engine().bump_user(user_id)


def forget_users() -> None:
    """Empties this process's user cache (on settings changes)."""
    with _lock:
        _cache.clear()


def _after_fork_in_child() -> None:
    global _lock
    # The parent's lock may have been held by another thread at fork().
    _lock = threading.Lock()
    _cache.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


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
