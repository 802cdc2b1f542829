"""The ``TESSERA`` settings dict: its keys, defaults and validation.

Settings are read once per process and cached; Django's ``setting_changed``
signal (``override_settings`` in tests) clears the cache. Every problem is
collected rather than raised at the first one, so that the system checks
(:mod:`tessera.django.checks`) report them all together; code that needs
the settings at run time gets :class:`ImproperlyConfigured` instead.

Invariant: a :class:`TesseraSettings` only exists for a configuration that
passed every check here. Whether the engine accepts the key, algorithm and
PAT prefix is for the engine to decide; the checks ask it.
"""

from __future__ import annotations

import difflib
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, overload

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

#: Every key of ``TESSERA``, with its default. ``None`` for SIGNING_KEY and
#: DATABASE_PATH means "derived": ``SECRET_KEY`` and ``BASE_DIR / "tessera.redb"``.
#: ``STORE``, a ``postgres://`` URL, replaces the redb file with PostgreSQL.
DEFAULTS: dict[str, Any] = {
    "SIGNING_KEY": None,
    "PREVIOUS_SIGNING_KEYS": [],
    "ALGORITHM": "HS256",
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=15),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=14),
    "DATABASE_PATH": None,
    "STORE": None,
    "PAT_PREFIX": "tsr_pat_",
    "PAT_MAX_LIFETIME": None,
    "USER_ID_FIELD": "pk",
    "USER_ID_CLAIM": "user_id",
    "REUSE_GRACE": timedelta(seconds=10),
    "SESSION_MAX_LIFETIME": None,
    "MAX_SESSIONS_PER_USER": None,
    "REVOKE_ON_PASSWORD_CHANGE": True,
    "REVOKE_PATS_ON_PASSWORD_CHANGE": False,
    "CLAIMS_HOOK": None,
    "MULTI_PROCESS": True,
    "LEEWAY": timedelta(0),
    "ISSUER": None,
    "AUDIENCE": None,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "UPDATE_LAST_LOGIN": False,
    "USER_CACHE_SIZE": 10_000,
    "REFRESH_COOKIE": None,
    "REVOKE_RATE": "30/minute",
    "SECRET_SCANNING_GITHUB_KEYS": None,
    "THROTTLE": "default",
}

#: The keys of ``TESSERA["THROTTLE"]`` (see :mod:`tessera.django.throttle`).
#: A limit is ``(attempts, window)``, the window a timedelta or seconds, or
#: None to turn that limit off; ``THROTTLE: None`` turns throttling off.
THROTTLE_DEFAULTS: dict[str, Any] = {
    "PER_ACCOUNT_AND_ADDRESS": (10, timedelta(minutes=15)),
    "PER_ADDRESS": (100, timedelta(minutes=15)),
    "NUM_PROXIES": None,
}

#: The keys of ``TESSERA["REFRESH_COOKIE"]``. ``PATH`` None means the folder
#: of the refresh endpoint (``/api/v1/auth/``), which also covers logout.
COOKIE_DEFAULTS: dict[str, Any] = {
    "NAME": "tessera_refresh",
    "PATH": None,
    "DOMAIN": None,
    "SECURE": True,
    "SAMESITE": "Lax",
    "OPT_IN": False,
}

#: The request header by which a browser client asks for cookie mode when
#: ``REFRESH_COOKIE["OPT_IN"]`` is set; API clients leave it out.
OPT_IN_HEADER = "X-Tessera-Refresh"
OPT_IN_VALUE = "cookie"

# SameSite=None would send the cookie on cross-site requests, leaving CSRF
# tokens as the only defence; the cookie mode is for same-site SPAs.
_SAMESITE = ("Lax", "Strict")


@dataclass(frozen=True)
class Problem:
    """One configuration problem, in the shape of a Django check message."""

    id: str
    msg: str
    hint: str | None = None


@dataclass(frozen=True)
class RefreshCookie:
    """Where cookie mode keeps the refresh token; it is always HttpOnly."""

    name: str
    path: str | None
    domain: str | None
    secure: bool
    samesite: str
    # True: only requests that ask (OPT_IN_HEADER), come from a Django
    # session, or refresh with the cookie get the cookie; the rest get the
    # refresh token in the JSON body.
    opt_in: bool = False


@dataclass(frozen=True)
class ScanningKey:
    """One verification key of a secret-scanning partner's key document."""

    key_identifier: str
    pem: str
    is_current: bool


@dataclass(frozen=True)
class Throttle:
    """Limits of the credential endpoints: (attempts, window in seconds)."""

    per_account_and_address: tuple[int, int] | None
    per_address: tuple[int, int] | None
    # How many proxies append to X-Forwarded-For; None: use REMOTE_ADDR.
    num_proxies: int | None


@dataclass(frozen=True)
class TesseraSettings:
    """The validated ``TESSERA`` settings of this process."""

    signing_key: str | bytes
    previous_signing_keys: tuple[str | bytes, ...]
    algorithm: str
    access_lifetime: timedelta
    refresh_lifetime: timedelta
    database_path: Path | None
    store: str | None
    pat_prefix: str
    pat_max_lifetime: timedelta | None
    user_id_field: str
    user_id_claim: str
    reuse_grace: timedelta
    multi_process: bool
    leeway: timedelta
    issuer: str | None
    audience: str | None
    auth_header_types: tuple[str, ...]
    update_last_login: bool
    user_cache_size: int
    refresh_cookie: RefreshCookie | None
    # DRF's rate syntax ("30/minute"), per client address, for auth/revoke/.
    revoke_rate: str | None = None
    # GitHub's secret-scanning verification keys; None: the receiver is off.
    github_scanning_keys: tuple[ScanningKey, ...] | None = None
    throttle: Throttle | None = None
    # The absolute end of a session, counted from its login; None: none.
    session_max_lifetime: timedelta | None = None
    # A login beyond this many live sessions ends the least recently refreshed one.
    max_sessions_per_user: int | None = None
    revoke_on_password_change: bool = True
    revoke_pats_on_password_change: bool = False
    # hook(user) -> dict of extra claims, at every login and rotation.
    claims_hook: Callable[[Any], Mapping[str, Any]] | None = None

    def engine_options(self) -> dict[str, Any]:
        """Keyword arguments for :class:`tessera.Engine`, except where it keeps
        its state (path or store) and events."""
        options: dict[str, Any] = {
            "signing_key": self.signing_key,
            "previous_signing_keys": self.previous_signing_keys,
            "algorithm": self.algorithm,
            "access_lifetime": self.access_lifetime,
            "refresh_lifetime": self.refresh_lifetime,
            "leeway": self.leeway,
            "issuer": self.issuer,
            "audience": self.audience,
            "user_id_claim": self.user_id_claim,
            "reuse_grace": self.reuse_grace,
            "pat_prefix": self.pat_prefix,
            "multi_process": self.multi_process,
        }
        # Unset, the engine's own defaults (no limit) stand.
        if self.session_max_lifetime is not None:
            options["session_max_lifetime"] = self.session_max_lifetime
        if self.max_sessions_per_user is not None:
            options["max_sessions_per_user"] = self.max_sessions_per_user
        return options


_lock = threading.Lock()
_cached: TesseraSettings | None = None


def tessera_settings() -> TesseraSettings:
    """The validated settings, read on first use.

    Raises ImproperlyConfigured naming every problem when they are invalid.
    """
    cached = _cached
    if cached is not None:
        return cached
    return _load()


def _load() -> TesseraSettings:
    global _cached
    with _lock:
        if _cached is None:
            parsed, problems = read()
            if parsed is None:
                raise ImproperlyConfigured(
                    "Invalid TESSERA settings: " + "; ".join(p.msg for p in problems)
                )
            _cached = parsed
        return _cached


def reset() -> None:
    """Forgets the cached settings; the next use reads them again."""
    global _cached
    with _lock:
        _cached = None


def read() -> tuple[TesseraSettings | None, list[Problem]]:
    """Reads and validates ``settings.TESSERA``: the settings, or the problems."""
    raw = getattr(settings, "TESSERA", {})
    if not isinstance(raw, Mapping):
        return None, [
            Problem(
                "tessera.E001",
                f"TESSERA must be a dict, not {type(raw).__name__}.",
                'For example TESSERA = {"ACCESS_TOKEN_LIFETIME": timedelta(minutes=15)}.',
            )
        ]
    problems: list[Problem] = []
    for key in raw:
        if key == "USER_CACHE_TTL":
            problems.append(
                Problem(
                    "tessera.E002",
                    "TESSERA['USER_CACHE_TTL'] was removed: the user cache is now exact (a "
                    "change to a user reaches every process at its next request) and on by "
                    "default.",
                    "Remove it; TESSERA['USER_CACHE_SIZE'] bounds the cache (0 turns it off).",
                )
            )
        elif key not in DEFAULTS:
            problems.append(_unknown("TESSERA", key, DEFAULTS))
    reader = _Reader({**DEFAULTS, **raw}, problems)

    signing_key = reader.value("SIGNING_KEY")
    if signing_key is None:
        signing_key = settings.SECRET_KEY
    if not isinstance(signing_key, str | bytes) or not signing_key:
        problems.append(
            Problem(
                "tessera.E003",
                "TESSERA['SIGNING_KEY'] must be a non-empty str or bytes (default: SECRET_KEY).",
                "Run `manage.py tessera_keygen` for a new key.",
            )
        )

    previous_signing_keys = _previous_keys(reader.value("PREVIOUS_SIGNING_KEYS"), problems)
    store = _store(reader.value("STORE"), problems)
    if store is not None and raw.get("DATABASE_PATH") is not None:
        problems.append(
            Problem(
                "tessera.E008",
                "TESSERA sets both STORE and DATABASE_PATH.",
                "Keep STORE for PostgreSQL, or DATABASE_PATH for a redb file.",
            )
        )
    database_path = None if store else _database_path(reader.value("DATABASE_PATH"), problems)
    parsed = TesseraSettings(
        signing_key=signing_key,
        previous_signing_keys=previous_signing_keys,
        algorithm=reader.text("ALGORITHM"),
        access_lifetime=reader.duration("ACCESS_TOKEN_LIFETIME", positive=True),
        refresh_lifetime=reader.duration("REFRESH_TOKEN_LIFETIME", positive=True),
        database_path=database_path,
        store=store,
        pat_prefix=reader.text("PAT_PREFIX"),
        pat_max_lifetime=reader.duration("PAT_MAX_LIFETIME", positive=True, optional=True),
        user_id_field=reader.text("USER_ID_FIELD"),
        user_id_claim=reader.text("USER_ID_CLAIM"),
        reuse_grace=reader.duration("REUSE_GRACE"),
        multi_process=reader.flag("MULTI_PROCESS"),
        leeway=reader.duration("LEEWAY"),
        issuer=reader.text("ISSUER", optional=True),
        audience=reader.text("AUDIENCE", optional=True),
        auth_header_types=_header_types(reader.value("AUTH_HEADER_TYPES"), problems),
        update_last_login=reader.flag("UPDATE_LAST_LOGIN"),
        user_cache_size=reader.count("USER_CACHE_SIZE"),
        refresh_cookie=_refresh_cookie(reader.value("REFRESH_COOKIE"), problems),
        revoke_rate=_rate(reader.value("REVOKE_RATE"), problems),
        github_scanning_keys=_scanning_keys(reader.value("SECRET_SCANNING_GITHUB_KEYS"), problems),
        throttle=_throttle(reader.value("THROTTLE"), problems),
        session_max_lifetime=_session_max_lifetime(reader.value("SESSION_MAX_LIFETIME"), problems),
        max_sessions_per_user=_max_sessions(reader.value("MAX_SESSIONS_PER_USER"), problems),
        revoke_on_password_change=reader.flag("REVOKE_ON_PASSWORD_CHANGE"),
        revoke_pats_on_password_change=reader.flag("REVOKE_PATS_ON_PASSWORD_CHANGE"),
        claims_hook=_claims_hook(reader.value("CLAIMS_HOOK"), problems),
    )
    if problems:
        return None, problems
    return parsed, []


class _Reader:
    """Reads typed values, recording a problem (and returning a placeholder) for a bad one."""

    def __init__(self, values: Mapping[str, Any], problems: list[Problem]) -> None:
        self.values = values
        self.problems = problems

    def value(self, key: str) -> Any:
        return self.values[key]

    def _bad(self, key: str, expected: str) -> None:
        value = self.values[key]
        self.problems.append(
            Problem(
                "tessera.E003",
                f"TESSERA[{key!r}] must be {expected}, not {value!r}.",
                f"The default is {DEFAULTS[key]!r}.",
            )
        )

    def text(self, key: str, *, optional: bool = False) -> Any:
        value = self.values[key]
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value:
            self._bad(key, "a non-empty string" + (" or None" if optional else ""))
        return value

    def count(self, key: str) -> int:
        value = self.values[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            self._bad(key, "a whole number, 0 or more")
            return 0
        return value

    def flag(self, key: str) -> bool:
        value = self.values[key]
        if not isinstance(value, bool):
            self._bad(key, "True or False")
        return bool(value)

    @overload
    def duration(
        self, key: str, *, positive: bool = False, optional: Literal[False] = False
    ) -> timedelta: ...
    @overload
    def duration(
        self, key: str, *, positive: bool = False, optional: Literal[True]
    ) -> timedelta | None: ...
    def duration(
        self, key: str, *, positive: bool = False, optional: bool = False
    ) -> timedelta | None:
        value = self.values[key]
        if value is None and optional:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            value = timedelta(seconds=value)
        if not isinstance(value, timedelta):
            self._bad(key, "a timedelta or a number of seconds" + (" or None" if optional else ""))
            return timedelta(0)
        if value < timedelta(0) or (positive and value == timedelta(0)):
            self._bad(key, "positive" if positive else "zero or more")
        elif value.microseconds:
            self._bad(key, "a whole number of seconds")
        return value


def _previous_keys(value: Any, problems: list[Problem]) -> tuple[str | bytes, ...]:
    if (
        isinstance(value, str | bytes)
        or not isinstance(value, list | tuple)
        or not all(isinstance(k, str | bytes) and k for k in value)
    ):
        problems.append(
            Problem(
                "tessera.E003",
                "TESSERA['PREVIOUS_SIGNING_KEYS'] must be a list of keys (non-empty str or "
                "bytes, the same forms as SIGNING_KEY).",
                "`manage.py tessera_keygen --rotate` prints the lines for a rotation.",
            )
        )
        return ()
    return tuple(value)


def _rate(value: Any, problems: list[Problem]) -> str | None:
    if value is None:
        return None
    number, _, period = value.partition("/") if isinstance(value, str) else ("", "", "")
    if not number.isdigit() or int(number) < 1 or period[:1] not in ("s", "m", "h", "d"):
        problems.append(
            Problem(
                "tessera.E003",
                f"TESSERA['REVOKE_RATE'] must be None or a rate such as '30/minute', "
                f"not {value!r}.",
                "The number of requests per client address, then /second, /minute, "
                "/hour or /day (DRF's throttle syntax). None turns the limit off.",
            )
        )
        return None
    return value


def _scanning_keys(value: Any, problems: list[Problem]) -> tuple[ScanningKey, ...] | None:
    """GitHub's key document (``{"public_keys": [...]}``), as a dict, JSON
    text, or a path to a file holding it; read once, never fetched."""
    if value is None:
        return None

    def bad(why: str) -> None:
        problems.append(
            Problem(
                "tessera.E010",
                f"TESSERA['SECRET_SCANNING_GITHUB_KEYS'] {why}",
                "Save the document of https://api.github.com/meta/public_keys/secret_scanning "
                "and set this to its path (or to the parsed dict).",
            )
        )

    document = value
    if isinstance(value, Path) or (isinstance(value, str) and not value.lstrip().startswith("{")):
        try:
            document = Path(value).read_text(encoding="utf-8")
        except OSError as e:
            bad(f"names a file that cannot be read: {e.strerror or e}.")
            return None
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError as e:
            bad(f"is not valid JSON: {e}.")
            return None
    keys = document.get("public_keys") if isinstance(document, Mapping) else None
    if not isinstance(keys, list) or not keys:
        bad('must be a document {"public_keys": [...]} with at least one key.')
        return None
    parsed = []
    for entry in keys:
        if (
            not isinstance(entry, Mapping)
            or not isinstance(entry.get("key_identifier"), str)
            or not isinstance(entry.get("key"), str)
            or "BEGIN PUBLIC KEY" not in entry["key"]
        ):
            bad('has a key that lacks "key_identifier" or a PEM "key".')
            return None
        parsed.append(
            ScanningKey(entry["key_identifier"], entry["key"], bool(entry.get("is_current")))
        )
    return tuple(parsed)


def _database_path(value: Any, problems: list[Problem]) -> Path | None:
    if value is None:
        base_dir = getattr(settings, "BASE_DIR", None)
        if base_dir is None:
            problems.append(
                Problem(
                    "tessera.E005",
                    "TESSERA['DATABASE_PATH'] is not set, and there is no BASE_DIR "
                    "setting to put tessera.redb in.",
                    'Set TESSERA["DATABASE_PATH"] to the file for the token database.',
                )
            )
            return None
        return Path(base_dir) / "tessera.redb"
    if value == ":memory:":
        # In memory: for tests; tokens do not outlive the process.
        return None
    try:
        path = Path(value)
    except TypeError:
        problems.append(
            Problem(
                "tessera.E003",
                f"TESSERA['DATABASE_PATH'] must be a path, not {value!r}.",
            )
        )
        return None
    if not path.parent.is_dir():
        problems.append(
            Problem(
                "tessera.E005",
                f"TESSERA['DATABASE_PATH'] is in a folder that does not exist: {path.parent}.",
                "Create the folder; the database file itself is created on first use.",
            )
        )
    return path


def _store(value: Any, problems: list[Problem]) -> str | None:
    if value is None:
        return None
    scheme = value.partition("://")[0].lower() if isinstance(value, str) else ""
    if scheme not in ("postgres", "postgresql") or not value.partition("://")[2]:
        shown = f"{scheme}://…" if scheme else type(value).__name__
        problems.append(
            Problem(
                "tessera.E008",
                f"TESSERA['STORE'] must be None or a postgres:// URL, not {shown}.",
                'For example "postgres://tessera@db.internal:5432/site"; '
                "a redb file is set with DATABASE_PATH.",
            )
        )
        return None
    return value


def _header_types(value: Any, problems: list[Problem]) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    if (
        not isinstance(value, list | tuple)
        or not value
        or not all(isinstance(v, str) and v and " " not in v for v in value)
    ):
        problems.append(
            Problem(
                "tessera.E003",
                f"TESSERA['AUTH_HEADER_TYPES'] must be a tuple of words, not {value!r}.",
                "The default is ('Bearer',).",
            )
        )
        return ("Bearer",)
    return tuple(value)


def _refresh_cookie(value: Any, problems: list[Problem]) -> RefreshCookie | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        problems.append(
            Problem(
                "tessera.E007",
                f"TESSERA['REFRESH_COOKIE'] must be a dict or None, not {value!r}.",
                'For example {"NAME": "tessera_refresh", "SECURE": True}.',
            )
        )
        return None
    before = len(problems)
    for key in value:
        if key not in COOKIE_DEFAULTS:
            problems.append(_unknown("TESSERA['REFRESH_COOKIE']", key, COOKIE_DEFAULTS, "E007"))
    merged = {**COOKIE_DEFAULTS, **value}

    def bad(key: str, expected: str) -> None:
        problems.append(
            Problem(
                "tessera.E007",
                f"TESSERA['REFRESH_COOKIE'][{key!r}] must be {expected}, not {merged[key]!r}.",
            )
        )

    if not isinstance(merged["NAME"], str) or not merged["NAME"]:
        bad("NAME", "a non-empty string")
    path = merged["PATH"]
    if path is not None and (not isinstance(path, str) or not path.startswith("/")):
        bad("PATH", "None or a path starting with /")
    if merged["DOMAIN"] is not None and not isinstance(merged["DOMAIN"], str):
        bad("DOMAIN", "None or a string")
    if not isinstance(merged["SECURE"], bool):
        bad("SECURE", "True or False")
    if merged["SAMESITE"] not in _SAMESITE:
        bad("SAMESITE", '"Lax" or "Strict"')
    if not isinstance(merged["OPT_IN"], bool):
        bad("OPT_IN", "True or False")
    if len(problems) > before:
        return None
    return RefreshCookie(
        name=merged["NAME"],
        path=path,
        domain=merged["DOMAIN"],
        secure=merged["SECURE"],
        samesite=merged["SAMESITE"],
        opt_in=merged["OPT_IN"],
    )


def _throttle(value: Any, problems: list[Problem]) -> Throttle | None:
    if value is None:
        return None
    if value == "default":
        value = {}
    if not isinstance(value, Mapping):
        problems.append(
            Problem(
                "tessera.E011",
                f"TESSERA['THROTTLE'] must be a dict or None, not {value!r}.",
                'For example {"PER_ACCOUNT_AND_ADDRESS": (10, timedelta(minutes=15))}.',
            )
        )
        return None
    before = len(problems)
    for key in value:
        if key not in THROTTLE_DEFAULTS:
            problems.append(_unknown("TESSERA['THROTTLE']", key, THROTTLE_DEFAULTS, "E011"))
    merged = {**THROTTLE_DEFAULTS, **value}

    def limit(key: str) -> tuple[int, int] | None:
        raw = merged[key]
        if raw is None:
            return None
        if isinstance(raw, list | tuple) and len(raw) == 2:
            attempts, window = raw
            if isinstance(window, int) and not isinstance(window, bool):
                window = timedelta(seconds=window)
            if (
                isinstance(attempts, int)
                and not isinstance(attempts, bool)
                and attempts >= 1
                and isinstance(window, timedelta)
                and window >= timedelta(seconds=1)
                and not window.microseconds
            ):
                return attempts, int(window.total_seconds())
        problems.append(
            Problem(
                "tessera.E011",
                f"TESSERA['THROTTLE'][{key!r}] must be (attempts, window) or None, not {raw!r}.",
                "Attempts at least 1; the window a timedelta or whole seconds, at least 1 s. "
                f"The default is {THROTTLE_DEFAULTS[key]!r}.",
            )
        )
        return None

    pair = limit("PER_ACCOUNT_AND_ADDRESS")
    per_address = limit("PER_ADDRESS")
    proxies = merged["NUM_PROXIES"]
    if proxies is not None and (
        not isinstance(proxies, int) or isinstance(proxies, bool) or proxies < 0
    ):
        problems.append(
            Problem(
                "tessera.E011",
                f"TESSERA['THROTTLE']['NUM_PROXIES'] must be None or a count, not {proxies!r}.",
                "The number of proxies in front of the site that append to X-Forwarded-For.",
            )
        )
    if len(problems) > before:
        return None
    return Throttle(per_account_and_address=pair, per_address=per_address, num_proxies=proxies)


def _session_max_lifetime(value: Any, problems: list[Problem]) -> timedelta | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = timedelta(seconds=value)
    if not isinstance(value, timedelta) or value <= timedelta(0) or value.microseconds:
        problems.append(
            Problem(
                "tessera.E012",
                "TESSERA['SESSION_MAX_LIFETIME'] must be None or a positive timedelta or "
                f"number of whole seconds, not {value!r}.",
                "How long a session may last from its login, however often it is "
                "refreshed; for example timedelta(days=30). None (the default): no limit.",
            )
        )
        return None
    return value


def _max_sessions(value: Any, problems: list[Problem]) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        problems.append(
            Problem(
                "tessera.E013",
                f"TESSERA['MAX_SESSIONS_PER_USER'] must be None or a count of at least 1, "
                f"not {value!r}.",
                "A login beyond this many live sessions of a user ends the least recently "
                "refreshed one. None (the default): no limit.",
            )
        )
        return None
    return value


def _claims_hook(value: Any, problems: list[Problem]) -> Callable[[Any], Any] | None:
    """The callable named by ``CLAIMS_HOOK`` (a dotted path, or the callable itself)."""
    if value is None:
        return None
    hook = value
    why = None
    if isinstance(value, str):
        try:
            hook = import_string(value)
        except ImportError as e:
            why = f"cannot be imported: {e}"
    if why is None and not callable(hook):
        why = f"must be None or the dotted path of a callable, not {value!r}"
    if why is not None:
        problems.append(
            Problem(
                "tessera.E014",
                f"TESSERA['CLAIMS_HOOK'] {why}.",
                'For example "myapp.tokens.claims_for", a function hook(user) -> dict '
                "whose items every access and refresh token of the user carries.",
            )
        )
        return None
    return hook  # type: ignore[no-any-return]


def _unknown(where: str, key: object, known: Mapping[str, Any], code: str = "E002") -> Problem:
    close = difflib.get_close_matches(str(key), list(known), n=1)
    hint = f"Did you mean {close[0]!r}?" if close else "Known keys: " + ", ".join(known) + "."
    return Problem(f"tessera.{code}", f"{where} has an unknown key {key!r}.", hint)
