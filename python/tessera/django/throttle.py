"""Throttling of password guessing, on the engine's shared attempt counters.

The credential endpoints (``auth/login/email/`` and simplejwt's ``token/``)
count each attempt twice, before the password hasher runs:

- per (account identifier, client address): ``PER_ACCOUNT_AND_ADDRESS``,
  10 per 15 minutes by default. A successful login clears this count;
- per client address: ``PER_ADDRESS``, 100 per 15 minutes by default, which
  bounds one address spraying many accounts. A successful login takes its
  own attempt back, so an office behind one address is not locked out by
  its own users' logins.

Over either limit the answer is a 429 ``too_many_attempts`` with
``Retry-After``, and the hasher never runs, so a refused guess costs a
store write and nothing more. The counters live in the token store, so the
limits hold across every gunicorn worker (redb with ``MULTI_PROCESS``) and
every host (PostgreSQL): see the engine's ``record_attempt``.

Windows are fixed: the first attempt opens a window; after it ends, the
count starts again. At a window's edge up to twice the limit can fall within
one window's length; the long-run rate is the limit.

What this does not do: lock an account. A per-account limit that ignores the
address lets anyone lock a victim out by guessing wrong on purpose; the
pair limit slows one attacker on one account, the address limit one
attacker on many accounts. A site that prefers lockout (accepting that
denial of service) can add an account-wide counter in one line in its own
view: ``get_engine().record_attempt("login-account:" + email, 50, 3600)``.

The client address is ``REMOTE_ADDR``. Behind proxies, set ``NUM_PROXIES``
to how many proxies append to ``X-Forwarded-For`` (as DRF's setting of that
name): the address is then the one that many entries from the right.
Without it, ``X-Forwarded-For`` is ignored: a client sets it freely.

When a limit is hit, the ``tessera`` logger records a WARNING and
:data:`tessera.django.signals.attempts_limited` is sent, naming the scope,
account (when there is one) and address, never a password.
"""

from __future__ import annotations

import logging
from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

import tessera
from tessera.django import signals
from tessera.django.conf import tessera_settings
from tessera.django.engine import get_engine
from tessera.django.exceptions import TesseraAPIError

__all__ = [
    "AttemptRateThrottle",
    "TooManyAttempts",
    "attempt_throttle",
    "check_login",
    "client_address",
    "login_succeeded",
]

logger = logging.getLogger("tessera")


class TooManyAttempts(TesseraAPIError):
    """A 429 ``too_many_attempts``; ``wait`` becomes ``Retry-After``."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("too_many_attempts")
        self.wait = max(1, retry_after)


def client_address(request: Request | Any) -> str:
    """The client's address: ``REMOTE_ADDR``, or the ``X-Forwarded-For``
    entry ``NUM_PROXIES`` from the right when that setting is given."""
    meta = request.META
    remote = str(meta.get("REMOTE_ADDR") or "")
    options = tessera_settings().throttle
    proxies = options.num_proxies if options is not None else None
    forwarded = meta.get("HTTP_X_FORWARDED_FOR")
    if not proxies or not forwarded:
        return remote
    hops = [h.strip() for h in str(forwarded).split(",") if h.strip()]
    if not hops:
        return remote
    return hops[-min(proxies, len(hops))]


def _account_key(account: str) -> str:
    # Account identifiers match case-insensitively (emails are looked up
    # with iexact), so guesses at "Alice@" and "alice@" share a count.
    return account.strip().lower()


def check_login(request: Request, account: str, scope: str = "login") -> None:
    """Counts a login attempt for `account` from this request's address, or
    raises :class:`TooManyAttempts`. Call it before checking the password."""
    options = tessera_settings().throttle
    if options is None:
        return
    address = client_address(request)
    engine = get_engine()
    pair = options.per_account_and_address
    if pair is not None:
        key = f"{scope}:{_account_key(account)}|{address}"
        _count(engine, key, pair, scope, account, address)
    per_address = options.per_address
    if per_address is not None:
        _count(engine, f"{scope}-address:{address}", per_address, scope, account, address)


def login_succeeded(request: Request, account: str, scope: str = "login") -> None:
    """After a successful login: clears the pair's count and takes this
    attempt back from the address's count."""
    options = tessera_settings().throttle
    if options is None:
        return
    address = client_address(request)
    engine = get_engine()
    if options.per_account_and_address is not None:
        engine.clear_attempts(f"{scope}:{_account_key(account)}|{address}")
    if options.per_address is not None:
        engine.release_attempt(f"{scope}-address:{address}")


def _count(
    engine: tessera.Engine,
    key: str,
    limit: tuple[int, int],
    scope: str,
    account: str | None,
    address: str,
) -> None:
    attempt = engine.record_attempt(key, limit[0], limit[1])
    if not attempt.allowed:
        limited(scope, account, address, attempt.retry_after)
        raise TooManyAttempts(attempt.retry_after)


def limited(scope: str, account: str | None, address: str, retry_after: int) -> None:
    """The audit record and signal of a refused attempt."""
    fields = {
        "event": "attempts_limited",
        "scope": scope,
        "account": account,
        "address": address,
        "retry_after": retry_after,
    }
    logger.warning(
        "tessera attempts_limited scope=%s account=%s address=%s retry_after=%s",
        scope,
        account,
        address,
        retry_after,
        extra={"tessera": fields},
    )
    signals.send_attempts_limited(
        scope=scope, account=account, address=address, retry_after=retry_after
    )


class AttemptRateThrottle(SimpleRateThrottle):
    """A DRF throttle on the engine's shared counters, per client address:
    exact across workers and hosts, unlike DRF's cache-based throttles.

    Its rate comes from ``rate`` (``"5/hour"``) or DRF's
    ``DEFAULT_THROTTLE_RATES[scope]``, as DRF's own throttles::

        class PasswordResetView(APIView):
            throttle_classes = [attempt_throttle("password_reset", "5/hour")]
    """

    scope = "tessera"

    def get_cache_key(self, request: Request, view: Any) -> str:
        return f"throttle:{self.scope}:{client_address(request)}"

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        limit, window = self.parse_rate(self.rate)
        if limit is None or window is None:
            return True
        address = client_address(request)
        attempt = get_engine().record_attempt(self.get_cache_key(request, view), limit, window)
        self._retry_after = attempt.retry_after
        if not attempt.allowed:
            limited(self.scope, None, address, attempt.retry_after)
        return bool(attempt.allowed)

    def wait(self) -> float | None:
        return float(getattr(self, "_retry_after", 0)) or None


def attempt_throttle(scope: str, rate: str) -> type[AttemptRateThrottle]:
    """An :class:`AttemptRateThrottle` for `scope` at `rate` (``"5/hour"``)."""
    return type(
        f"AttemptRateThrottle_{scope}",
        (AttemptRateThrottle,),
        {"scope": scope, "rate": rate},
    )
