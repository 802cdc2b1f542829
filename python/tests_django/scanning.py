"""A test key pair standing in for GitHub's secret-scanning keys, and alerts
signed with it as GitHub signs them (ECDSA P-256 / SHA-256, base64 DER)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

URL = "/api/v1/auth/secret-scanning/github/"


@dataclass
class Signer:
    key_id: str
    private: ec.EllipticCurvePrivateKey

    @classmethod
    def new(cls, key_id: str) -> Signer:
        return cls(key_id, ec.generate_private_key(ec.SECP256R1()))

    def public_pem(self) -> str:
        return (
            self.private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def sign(self, body: bytes) -> str:
        return base64.b64encode(self.private.sign(body, ec.ECDSA(hashes.SHA256()))).decode()

    def headers(self, body: bytes) -> dict[str, str]:
        return {
            "Github-Public-Key-Identifier": self.key_id,
            "Github-Public-Key-Signature": self.sign(body),
        }


def key_document(*signers: Signer) -> dict[str, Any]:
    """GitHub's published document, listing these keys (the first current)."""
    return {
        "public_keys": [
            {"key_identifier": s.key_id, "key": s.public_pem(), "is_current": i == 0}
            for i, s in enumerate(signers)
        ]
    }


def alert(*tokens: str) -> bytes:
    """An alert body as GitHub sends it, one match per token."""
    return json.dumps(
        [
            {
                "token": t,
                "type": "tessera_personal_access_token",
                "url": f"https://github.com/octo/leaky/blob/main/config{i}.env",
                "source": "content",
            }
            for i, t in enumerate(tokens)
        ]
    ).encode()
