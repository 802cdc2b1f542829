"""Token sessions end when a user's password changes or the account is deactivated.

Whatever path saves the user, ``set_password()`` and ``save()``, the admin,
Django's password-change and password-reset views, ``manage.py
changepassword``, ends up in the user model's ``save()``. The ``pre_save``
receiver of :mod:`tessera.django.receivers` reads the stored row's password
hash and ``is_active`` (with ``USER_ID_FIELD``, in one query, only when an
existing user is saved, and not at all for a save whose ``update_fields``
name none of them); at ``post_save``, :func:`sessions_to_end` compares them
with the values being saved, and once the transaction commits
(``transaction.on_commit``) :func:`end_sessions` ends the user's sessions,
in every process: every refresh token of them fails, and so does every
access token already issued (``token_revoked``).

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


def watched_fields(model: type[Any]) -> tuple[str, ...]:
    """The stored fields whose change ends sessions: the password, and
    ``is_active`` when it is a field (on ``AbstractBaseUser`` it is a
    constant True)."""
    names = {f.name for f in model._meta.concrete_fields}
    return ("password", "is_active") if "is_active" in names else ("password",)


def sessions_to_end(
    model: type[Any], stored: dict[str, Any], instance: Any
) -> tuple[str | None, bool] | None:
    """What a save of `instance` over the `stored` row ends: ``None`` when
    nothing, else ``(session to keep, whether PATs end too)``. `stored`
    holds the :func:`watched_fields` the save may have changed. Reads the
    session to keep now, while :func:`keep_token_session`'s block runs."""
    from tessera.django.conf import tessera_settings
    from tessera.django.users import user_id_of

    if stored.get("is_active") and not instance.is_active:
        return None, False
    if "password" not in stored or stored["password"] == instance.password:
        return None
    options = tessera_settings()
    if not options.revoke_on_password_change:
        return None
    kept = _kept.get()
    keep = kept[1] if kept is not None and kept[0] == str(user_id_of(instance)) else None
    return keep, options.revoke_pats_on_password_change


def end_sessions(user_id: str | int, keep: str | None, pats: bool) -> None:
    """Ends the user's sessions but `keep`, and its PATs when `pats`; the
    revocation bumps the user's change stamp in the same transaction."""
    from tessera.django.engine import get_engine

    engine = get_engine()
    engine.revoke_user(user_id, keep_session=keep)
    if pats:
        engine.revoke_user_pats(user_id)
