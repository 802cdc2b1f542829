"""A password hasher that counts its work, so tests can prove that a
throttled login never reached it."""

from __future__ import annotations

import threading

from django.contrib.auth.hashers import MD5PasswordHasher

_lock = threading.Lock()
_calls = 0


def calls() -> int:
    """Passwords hashed or checked in this process so far."""
    return _calls


def _count() -> None:
    global _calls
    with _lock:
        _calls += 1


class CountingHasher(MD5PasswordHasher):
    """Django's MD5 hasher (fast, for tests), counting every hash and check."""

    def encode(self, password: str, salt: str) -> str:
        _count()
        return super().encode(password, salt)

    def verify(self, password: str, encoded: str) -> bool:
        _count()
        return bool(super().verify(password, encoded))
