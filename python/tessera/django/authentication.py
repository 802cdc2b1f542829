"""DRF authentication classes for Tessera's two bearer credentials.

List them in this order, before DRF's SessionAuthentication::

    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tessera.django.authentication.PATAuthentication",
        "tessera.django.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ]

:class:`PATAuthentication` claims only ``Authorization: Bearer <PAT prefix>…``;
any other bearer value passes on to :class:`JWTAuthentication`. Each class
either authenticates the request or rejects it with a 401 carrying
``WWW-Authenticate: Bearer realm="api"``; a request with no Authorization
header passes through both. ``request.auth`` is the access token's claims
(a dict) or the :class:`tessera.Pat`. Both read the user's change stamp in
the same store read that checks the token, and serve the user from the
per-process cache while it is unchanged (:mod:`tessera.django.users`).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

import tessera
from tessera.django.conf import tessera_settings
from tessera.django.engine import get_engine
from tessera.django.exceptions import AUTH_HEADER, from_engine
from tessera.django.users import load_user


def bearer_credential(request: Request | HttpRequest) -> str | None:
    """The credential of ``Authorization: <type> <credential>`` when the
    type is one of ``AUTH_HEADER_TYPES`` (case-insensitive), else None."""
    header = request.META.get("HTTP_AUTHORIZATION")
    if not header:
        return None
    scheme, _, credential = header.partition(" ")
    types = tessera_settings().auth_header_types
    if scheme.lower() not in (t.lower() for t in types):
        return None
    return credential.strip() or None


class PATAuthentication(BaseAuthentication):
    """Authenticates ``Bearer tsr_pat_…``: ``request.auth`` is the :class:`tessera.Pat`."""

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, tessera.Pat] | None:
        credential = bearer_credential(request)
        if credential is None or not credential.startswith(tessera_settings().pat_prefix):
            return None
        try:
            pat, stamp = get_engine().verify_pat_stamped(credential)
        except tessera.TesseraError as e:
            raise from_engine(e) from None
        return load_user(pat.user_id, stamp), pat

    def authenticate_header(self, request: Request) -> str:
        return AUTH_HEADER


class JWTAuthentication(BaseAuthentication):
    """Authenticates ``Bearer <access token>``: ``request.auth`` is its claims dict."""

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, dict[str, Any]] | None:
        credential = bearer_credential(request)
        if credential is None:
            return None
        engine = get_engine()
        try:
            claims, stamp = engine.verify_access_stamped(credential)
        except tessera.TesseraError as e:
            raise from_engine(e) from None
        return load_user(claims[engine.user_id_claim], stamp), claims

    def authenticate_header(self, request: Request) -> str:
        return AUTH_HEADER
