"""Tessera: an embedded token engine.

Strict JWTs that djangorestframework-simplejwt and PyJWT accept, single-use
refresh-token rotation with reuse detection, and hashed personal access
tokens, kept in an embedded database and called in-process.

Every error is a :class:`TesseraError` whose ``code`` is a stable string
(``"token_expired"``, ``"refresh_reused"``, ...); :data:`ERROR_CATALOG` lists
every code with its HTTP status and meaning. Bad arguments raise
:class:`ConfigError` (also a ``ValueError``) or ``TypeError``. Timestamps are
int seconds since the epoch (UTC). Result objects are immutable, and their
``repr`` never shows a token.

Events passed to an engine's ``events`` callable are :class:`Event` objects;
a callable that raises is logged on the ``tessera`` logger and ignored.
"""

from tessera._native import (
    ERROR_CATALOG,
    UNRESTRICTED_SCOPE,
    Attempt,
    ConfigError,
    Engine,
    Event,
    NewPat,
    Pat,
    PatExpired,
    PatInvalid,
    PatRevoked,
    PendingRefresh,
    RandomFailed,
    RefreshReused,
    Session,
    StorageError,
    TesseraError,
    TokenExpired,
    TokenInvalid,
    TokenNotYetValid,
    TokenPair,
    TokenRevoked,
    TokenWrongType,
    Verifier,
    __version__,
    generate_key,
)

__all__ = [
    "ERROR_CATALOG",
    "UNRESTRICTED_SCOPE",
    "Attempt",
    "ConfigError",
    "Engine",
    "Event",
    "NewPat",
    "Pat",
    "PatExpired",
    "PatInvalid",
    "PatRevoked",
    "PendingRefresh",
    "RandomFailed",
    "RefreshReused",
    "Session",
    "StorageError",
    "TesseraError",
    "TokenExpired",
    "TokenInvalid",
    "TokenNotYetValid",
    "TokenPair",
    "TokenRevoked",
    "TokenWrongType",
    "Verifier",
    "__version__",
    "generate_key",
]
