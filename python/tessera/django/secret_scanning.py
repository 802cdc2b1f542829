"""GitHub's secret-scanning partner receiver: leaked PATs die at once.

``POST auth/secret-scanning/github/`` is the URL a site registers with
GitHub's secret-scanning partner program, with the token pattern
``tsr_pat_[0-9A-Za-z]{49}`` (``PatConfig.regex``). GitHub posts a JSON list
of matches, ``[{"token", "type", "url", "source"}, ...]``, signed with
ECDSA P-256 / SHA-256: the DER signature, base64, in
``Github-Public-Key-Signature``, made with the key that
``Github-Public-Key-Identifier`` names.

Trust model: the request is trusted only when its signature verifies, over
the exact bytes received, under one of the keys of
``TESSERA["SECRET_SCANNING_GITHUB_KEYS"]`` (GitHub's published key
document, saved by the site; nothing is fetched at request time, so no
request can make the site fetch anything). Anything else is a 401, and
nothing is revoked, logged or parsed. A signed alert revokes each live
Tessera PAT it names (``Engine.report_leaked_pat``: audit event and signal
``pat_leaked`` with the display prefix and the url, never the token).

The answer is GitHub's false-positive report: one entry per match,
``{"token_hash": sha256 hex, "token_type", "label"}``, where ``label`` is
``true_positive`` for a token of this site (live and now revoked, or
revoked or expired already: a retried alert gets the same answer) and
``false_positive`` for anything else.

Signature checks use the ``cryptography`` package (``pip install
"tessera[secret-scanning]"``), imported only when the receiver is used.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
from typing import Any

from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

import tessera
from tessera.django.conf import ScanningKey, tessera_settings
from tessera.django.engine import get_engine
from tessera.django.exceptions import TesseraAPIError, from_engine, validation_error
from tessera.django.views import TesseraView

__all__ = ["GitHubSecretScanningView", "verify_github_signature"]

KEY_ID_HEADER = "Github-Public-Key-Identifier"
SIGNATURE_HEADER = "Github-Public-Key-Signature"

# A DER ECDSA P-256 signature is at most 72 bytes; its base64, 96 characters.
_MAX_SIGNATURE_CHARS = 200

_keys_lock = threading.Lock()
_loaded: tuple[tuple[ScanningKey, ...], dict[str, Any]] | None = None


class GitHubSecretScanningView(TesseraView):
    """``POST`` a signed alert → the false-positive report, 200."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    def post(self, request: Request) -> Response:
        configured = tessera_settings().github_scanning_keys
        if configured is None:
            raise TesseraAPIError(
                "not_found",
                "Secret scanning is not configured on this site "
                '(TESSERA["SECRET_SCANNING_GITHUB_KEYS"]).',
                status.HTTP_404_NOT_FOUND,
            )
        # The raw bytes, before any parser: the signature covers exactly these.
        body = request._request.body
        key_id = request.headers.get(KEY_ID_HEADER)
        signature = request.headers.get(SIGNATURE_HEADER)
        if not key_id or not signature:
            raise TesseraAPIError(
                "not_authenticated",
                f"The alert must carry {KEY_ID_HEADER} and {SIGNATURE_HEADER}.",
            )
        if not verify_github_signature(configured, key_id, signature, body):
            raise TesseraAPIError("invalid_credentials", "The alert's signature does not verify.")
        matches = parse_alert(body)
        engine = get_engine()
        report = []
        for match in matches:
            token = match["token"]
            try:
                found = engine.report_leaked_pat(token, match.get("url") or None)
            except tessera.TesseraError as e:
                raise from_engine(e) from None
            report.append(
                {
                    "token_hash": hashlib.sha256(token.encode()).hexdigest(),
                    "token_type": match["type"],
                    "label": "false_positive" if found == "unknown" else "true_positive",
                }
            )
        return Response(report)


def verify_github_signature(
    keys: tuple[ScanningKey, ...], key_id: str, signature: str, body: bytes
) -> bool:
    """Whether `signature` (base64 DER ECDSA) is the key `key_id`'s over `body`."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = _public_keys(keys).get(key_id)
    if key is None or len(signature) > _MAX_SIGNATURE_CHARS:
        return False
    try:
        der = base64.b64decode(signature, validate=True)
        key.verify(der, body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def parse_alert(body: bytes) -> list[dict[str, str]]:
    """The matches of a verified alert; 400 ``validation_error`` for another shape."""
    try:
        matches = json.loads(body)
    except ValueError:
        raise validation_error("The alert must be a JSON list of matches.") from None
    if not isinstance(matches, list) or not all(
        isinstance(m, dict)
        and isinstance(m.get("token"), str)
        and isinstance(m.get("type"), str)
        and isinstance(m.get("url", ""), str | None)
        for m in matches
    ):
        raise validation_error('Each match must be an object with string "token" and "type".')
    return matches


def _public_keys(keys: tuple[ScanningKey, ...]) -> dict[str, Any]:
    """The P-256 keys of the document by identifier, loaded once per settings."""
    global _loaded
    loaded = _loaded
    if loaded is not None and loaded[0] is keys:
        return loaded[1]
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    with _keys_lock:
        parsed: dict[str, Any] = {}
        for entry in keys:
            try:
                key = load_pem_public_key(entry.pem.encode())
            except ValueError:
                continue
            # GitHub signs with P-256 only; a key of another kind verifies nothing.
            if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
                parsed[entry.key_identifier] = key
        _loaded = (keys, parsed)
        return parsed
