"""Audit events as Django signals and as records on the ``tessera`` logger.

The engine reports each event on the thread that made the call, after the
change is durable. Each event kind has its own signal; :data:`token_event`
carries every kind. Receivers get keyword arguments::

    def on_reuse(sender, event, user_id, family_id, pat_prefix, code, url, at, **kwargs): ...

    signals.reuse_detected.connect(on_reuse)

``sender`` is :class:`tessera.Event`. No argument ever holds a token: a
session is named by its family id and a PAT by its display prefix
(``tsr_pat_AbC1``). ``url`` is set for :data:`pat_leaked` only: where a
secret scanner found the token, which a site may send its owner::

    def on_leak(sender, user_id, pat_prefix, url, **kwargs):
        user = get_user_model().objects.get(pk=user_id)
        user.email_user("A token of yours was leaked", f"{pat_prefix}… found at {url}; "
                        "we revoked it.")

    signals.pat_leaked.connect(on_leak)

A receiver that raises is logged and ignored, because
the change it reports has already happened.

:data:`attempts_limited` is sent by the throttles
(:mod:`tessera.django.throttle`) when an attempt is refused::

    def on_limited(sender, scope, account, address, retry_after, **kwargs): ...

``account`` is the identifier the client sent (None for a throttle that
counts per address alone); a password is never passed.

Log records carry the same fields as ``record.tessera`` (a dict). Reuse
detection is logged at WARNING; everything else at INFO.
"""

from __future__ import annotations

import logging

from django.dispatch import Signal

import tessera

logger = logging.getLogger("tessera")

session_issued = Signal()
refresh_rotated = Signal()
reuse_detected = Signal()
logout = Signal()
logout_all = Signal()
pat_created = Signal()
pat_used = Signal()
pat_revoked = Signal()
#: A live PAT was reported found in public and revoked (it has no pat_revoked).
pat_leaked = Signal()
verification_failed = Signal()
#: A login went past ``MAX_SESSIONS_PER_USER``: ``family_id`` is the session
#: it ended (the user's least recently refreshed one).
session_limit = Signal()
#: A session got a fresh ``auth_time`` (``auth/reauthenticate/``).
reauthenticated = Signal()

#: Every event, whatever its kind; the kind is ``event.kind``.
token_event = Signal()

#: An attempt refused by a throttle (``too_many_attempts``); not an engine event.
attempts_limited = Signal()

SIGNALS: dict[str, Signal] = {
    "session_issued": session_issued,
    "refresh_rotated": refresh_rotated,
    "reuse_detected": reuse_detected,
    "logout": logout,
    "logout_all": logout_all,
    "pat_created": pat_created,
    "pat_used": pat_used,
    "pat_revoked": pat_revoked,
    "pat_leaked": pat_leaked,
    "verification_failed": verification_failed,
    "session_limit": session_limit,
    "reauthenticated": reauthenticated,
}

_LEVELS = {"reuse_detected": logging.WARNING, "pat_leaked": logging.WARNING}


def dispatch(event: tessera.Event) -> None:
    """The engine's ``events`` callable: logs the event and sends its signals."""
    fields = {
        "event": event.kind,
        "user_id": event.user_id,
        "family_id": event.family_id,
        "pat_prefix": event.pat_prefix,
        "code": event.code,
        "url": event.url,
        "at": event.at,
    }
    level = _LEVELS.get(event.kind, logging.INFO)
    if logger.isEnabledFor(level):
        logger.log(
            level,
            "tessera %s user=%s family=%s pat=%s code=%s" + (" url=%s" if event.url else ""),
            event.kind,
            event.user_id,
            event.family_id,
            event.pat_prefix,
            event.code,
            *((event.url,) if event.url else ()),
            extra={"tessera": fields},
        )
    kwargs = {k: v for k, v in fields.items() if k != "event"}
    specific = SIGNALS.get(event.kind)
    for signal in (specific, token_event):
        if signal is None or not signal.has_listeners(tessera.Event):
            continue
        for receiver, result in signal.send_robust(tessera.Event, event=event, **kwargs):
            if isinstance(result, Exception):
                logger.error(
                    "a receiver of the tessera %s signal raised: %r",
                    event.kind,
                    receiver,
                    exc_info=result,
                )


def send_attempts_limited(
    *, scope: str, account: str | None, address: str, retry_after: int
) -> None:
    """Sends :data:`attempts_limited`; a receiver that raises is logged and ignored."""
    if not attempts_limited.has_listeners(None):
        return
    for receiver, result in attempts_limited.send_robust(
        None, scope=scope, account=account, address=address, retry_after=retry_after
    ):
        if isinstance(result, Exception):
            logger.error(
                "a receiver of the tessera attempts_limited signal raised: %r",
                receiver,
                exc_info=result,
            )
