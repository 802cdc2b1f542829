"""The process's one :class:`tessera.Engine`: opened lazily, reopened after
``fork()``, closed at interpreter exit.

Invariants:

- At most one engine per process is open through this module, on the redb
  file of ``DATABASE_PATH`` or the PostgreSQL database of ``STORE``. A forked
  child never uses the engine it inherited: the ``after_in_child`` hook
  forgets it, and the child's first call opens its own. (The inherited
  object is safe to drop in the child; the core leaves the parent's
  database handle alone.)
- ``_lock`` guards opening and closing only; calls on an open engine take
  no lock here (the engine is thread-safe). The child gets a new lock,
  because a thread of the parent may have held the old one at fork time.
- ``_verifier`` is the stateless verifier of the engine it is paired with,
  and is only handed out while that engine is the open one.
"""

from __future__ import annotations

import atexit
import os
import threading

from django.core.exceptions import ImproperlyConfigured

import tessera
from tessera.django import conf, signals

_lock = threading.Lock()
_engine: tessera.Engine | None = None
_verifier: tuple[tessera.Engine, tessera.Verifier] | None = None


def get_engine() -> tessera.Engine:
    """The engine of this process, opened on first use from ``TESSERA``."""
    engine = _engine
    if engine is not None:
        return engine
    return _open()


def get_verifier() -> tessera.Verifier:
    """The stateless verifier of the process's engine: its keys and claim
    rules, no store. It reads a token's claims; it never tells whether the
    token's session is still good (only the engine does)."""
    global _verifier
    engine = get_engine()
    paired = _verifier
    if paired is not None and paired[0] is engine:
        return paired[1]
    verifier = engine.verifier()
    _verifier = (engine, verifier)
    return verifier


def close_engine() -> None:
    """Closes the engine, if open; the next :func:`get_engine` opens it again."""
    global _engine, _verifier
    with _lock:
        engine, _engine, _verifier = _engine, None, None
    if engine is not None:
        engine.close()


def _open() -> tessera.Engine:
    global _engine
    with _lock:
        if _engine is None:
            options = conf.tessera_settings()
            try:
                _engine = tessera.Engine(
                    options.database_path,
                    store=options.store,
                    events=signals.dispatch,
                    **options.engine_options(),
                )
            except tessera.ConfigError as e:
                raise ImproperlyConfigured(f"TESSERA settings: {e}") from e
        return _engine


def _forget_inherited() -> None:
    global _engine, _lock, _verifier
    _lock = threading.Lock()
    _engine = None
    _verifier = None


os.register_at_fork(after_in_child=_forget_inherited)
atexit.register(close_engine)
