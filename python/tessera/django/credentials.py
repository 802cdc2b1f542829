"""Token sessions end when a user's password changes or the account is deactivated.

Whatever path saves the user, ``set_password()`` and ``save()``, the admin,
Django's password-change and password-reset views, ``manage.py
changepassword``, ends up in the user model's ``save()``. A ``pre_save``
receiver (connected in :mod:`tessera.django.receivers`) reads the stored
row's password hash and ``is_active`` (one query, only when an existing user
is saved, and not at all for a save whose ``update_fields`` name neither);
``post_save`` compares them with the values being saved, and once the
transaction commits (``transaction.on_commit``) the engine ends the user's
sessions, in every process: every refresh token of them fails, and so does
every access token already issued (``token_revoked``).

- The password hash changed and ``REVOKE_ON_PASSWORD_CHANGE`` (default
  True): ``revoke_user(user, keep_session=...)``, and with
  ``REVOKE_PATS_ON_PASSWORD_CHANGE`` (default False) ``revoke_user_pats``
  too. The session kept is the one of the request that made the change,
  when the host says so with :func:`keep_token_session`.
- The account went from active to inactive: every session ends, none kept
  (PATs of an inactive user are refused while it stays inactive).

A hasher upgrade that rehashes the password at login changes the stored hash
too, and ends the other sessions as it does Django's own sessions.

Not covered: changes that bypass ``save()``, such as ``QuerySet.update()``,
``bulk_update()`` or raw SQL. After one of those, call
``get_engine().revoke_user(user_id)`` (or ``manage.py tessera_revoke_user``).

Invariant: the session to keep is read when the user is saved, inside the
``with`` block, never in the commit callback, which may run after the block
has ended (``ATOMIC_REQUESTS``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

# (user id as text, session id): the token session that a password change
# made inside keep_token_session() leaves alone. Unset: none.
_kept: ContextVar[tuple[str, str] | None] = ContextVar("tessera_kept_session", default=None)

# The attribute pre_save leaves on the instance for post_save: the stored
# (password hash, is_active) before this save.
_BEFORE = "_tessera_stored_credentials"


@contextlib.contextmanager
def keep_token_session(request: Any) -> Iterator[None]:
    """Inside the block, a password change of the request's user leaves the
    token session of the request's bearer access token alive (its ``sid``),
    the way Django's ``update_session_auth_hash`` keeps the Django session::

        with keep_token_session(request):
            request.user.set_password(new_password)
            request.user.save()

    `request` is a DRF ``Request`` authenticated by an access token, or a
    Django ``HttpRequest`` carrying one in ``Authorization``. Without a
    valid access token (a PAT, a Django session) nothing is kept and every
    session of the user ends.
    """
    token = _kept.set(_session_of(request))
    try:
        yield
    finally:
        _kept.reset(token)


def _session_of(request: Any) -> tuple[str, str] | None:
    # Imported here: this module is imported with the app, before Django's
    # settings may be read.
    import tessera
    from tessera.django.authentication import bearer_credential
    from tessera.django.engine import get_engine

    engine = get_engine()
    claims = getattr(request, "auth", None)
    if not isinstance(claims, dict):
        credential = bearer_credential(request)
        if credential is None:
            return None
        try:
            claims = engine.verify_access(credential)
        except tessera.TesseraError:
            return None
    sid = claims.get("sid")
    user_id = claims.get(engine.user_id_claim)
    if not isinstance(sid, str) or user_id is None:
        return None
    return str(user_id), sid


def stored_credentials(sender: type[Any], instance: Any, **kwargs: Any) -> None:
    """``pre_save`` of the user model: remembers the stored password hash
    and ``is_active`` of an existing user about to be saved."""
    if kwargs.get("raw") or instance._state.adding or instance.pk is None:
        return
    fields = _watched(sender)
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and not set(update_fields) & set(fields):
        return
    row = sender._base_manager.using(kwargs.get("using")).filter(pk=instance.pk)
    stored = row.values_list(*fields).first()
    if stored is not None:
        setattr(instance, _BEFORE, stored)


def end_sessions_if_changed(sender: type[Any], instance: Any, **kwargs: Any) -> None:
    """``post_save`` of the user model: after the commit, ends the user's
    sessions when the save changed the password hash or deactivated the user."""
    stored = instance.__dict__.pop(_BEFORE, None)
    if stored is None or kwargs.get("raw"):
        return
    from django.db import transaction

    from tessera.django.conf import tessera_settings
    from tessera.django.users import user_id_of

    options = tessera_settings()
    fields = _watched(sender)
    now = tuple(getattr(instance, f) for f in fields)
    password_changed = now[0] != stored[0]
    deactivated = len(fields) == 2 and stored[1] and not now[1]
    user_id = user_id_of(instance)
    if deactivated:
        keep, pats = None, False
    elif password_changed and options.revoke_on_password_change:
        kept = _kept.get()
        keep = kept[1] if kept is not None and kept[0] == str(user_id) else None
        pats = options.revoke_pats_on_password_change
    else:
        return

    def end_sessions() -> None:
        from tessera.django.engine import get_engine

        engine = get_engine()
        engine.revoke_user(user_id, keep_session=keep)
        if pats:
            engine.revoke_user_pats(user_id)

    transaction.on_commit(end_sessions, using=kwargs.get("using"))


def _watched(model: type[Any]) -> tuple[str, ...]:
    """The stored fields compared: the password, and ``is_active`` when it
    is a field (on ``AbstractBaseUser`` it is a constant True)."""
    names = {f.name for f in model._meta.concrete_fields}
    return ("password", "is_active") if "is_active" in names else ("password",)
