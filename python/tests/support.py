"""Keys and helpers shared by the tests (importable: pytest puts tests/ on sys.path)."""

import time
from collections.abc import Callable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# Used as-is (its UTF-8 bytes) by Tessera, PyJWT and simplejwt alike.
HS256_SECRET = "tessera-python-tests-hs256-secret-0123456789"
HS512_SECRET = HS256_SECRET * 2


def rsa_private_pem() -> str:
    """A fresh 2048-bit RSA key as PKCS#8 PEM (Tessera cannot generate RSA keys)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Polls `predicate` until it holds or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def sleep_past(timestamp: int) -> None:
    """Sleeps until the wall clock's whole second is past `timestamp`."""
    while int(time.time()) <= timestamp:
        time.sleep(0.05)
