"""Tokens for the rest of the system: the JWKS, introspection (RFC 7662) and
revocation (RFC 7009).

- ``GET auth/jwks.json``: the public keys of the site's signing key and of
  ``PREVIOUS_SIGNING_KEYS``, cacheable for five minutes. An HMAC site has no
  public key to publish and answers 404 ``not_found``.
- ``POST auth/introspect/``, form-encoded ``token`` (and an optional
  ``token_type_hint``, which is not needed: the engine tells the kinds
  apart), for a bearer PAT that holds the scope ``tessera:introspect`` and
  whose user is staff. Any token that is not active now is ``{"active":
  false}``, whatever the reason.
- ``POST auth/revoke/``, form-encoded ``token``: whoever holds a token may
  end it. The answer is 200 with an empty body whether or not the token was
  valid, so it tells nothing about the token; requests are limited per
  client address (``TESSERA["REVOKE_RATE"]``).

The engine decides what is active and what a revocation ends
(``Engine.introspect``, ``Engine.revoke_token``); these views map its
answers to HTTP.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from rest_framework import status
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

import tessera
from tessera.django.authentication import PATAuthentication
from tessera.django.conf import tessera_settings
from tessera.django.engine import get_engine
from tessera.django.exceptions import TesseraAPIError, from_engine, validation_error
from tessera.django.throttle import AttemptRateThrottle
from tessera.django.users import load_user
from tessera.django.views import TesseraView

__all__ = [
    "INTROSPECT_SCOPE",
    "CanIntrospect",
    "IntrospectView",
    "JWKSView",
    "RevokeRateThrottle",
    "RevokeView",
]

#: The scope a PAT needs to call the introspection endpoint.
INTROSPECT_SCOPE = "tessera:introspect"

#: How long other services may cache the JWKS, in seconds.
JWKS_MAX_AGE = 300

_INACTIVE = {"active": False}


class JWKSView(TesseraView):
    """``GET`` → the JWKS document, ``Cache-Control: public, max-age=300``."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    def get(self, request: Request) -> HttpResponse:
        engine = get_engine()
        if engine.algorithm.startswith("HS"):
            raise TesseraAPIError(
                "not_found",
                f"This site signs its tokens with an HMAC secret ({engine.algorithm}), which "
                "is never published: there is no JWKS. Other services can verify its tokens "
                "through auth/introspect/, or the site can move to EdDSA or ES256.",
                status.HTTP_404_NOT_FOUND,
            )
        response = HttpResponse(engine.jwks(), content_type="application/json")
        response["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE}"
        return response


class CanIntrospect(BasePermission):
    """A PAT with the scope ``tessera:introspect``, of a staff user: a
    service account, not any user who can mint a PAT with that scope."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        pat = request.auth
        if not isinstance(pat, tessera.Pat) or INTROSPECT_SCOPE not in pat.scopes:
            raise TesseraAPIError(
                "permission_denied",
                f"Introspection needs a personal access token with the scope {INTROSPECT_SCOPE}.",
                status.HTTP_403_FORBIDDEN,
            )
        if not getattr(request.user, "is_staff", False):
            raise TesseraAPIError(
                "permission_denied",
                "Introspection is for service accounts: the token's user must be staff.",
                status.HTTP_403_FORBIDDEN,
            )
        return True


class IntrospectView(TesseraView):
    """``POST token=…`` → RFC 7662 §2.2: ``{"active": false}``, or for an
    active token ``active``, ``token_type``, ``sub``, ``exp``, ``iat``,
    ``jti`` (JWTs), ``sid`` (sessions) and ``scope`` (PATs)."""

    parser_classes = (FormParser, JSONParser)
    authentication_classes = (PATAuthentication,)
    permission_classes = (IsAuthenticated, CanIntrospect)

    def post(self, request: Request) -> Response:
        token = token_field(request)
        try:
            found = get_engine().introspect(token)
        except tessera.TesseraError as e:
            raise from_engine(e) from None
        body: dict[str, Any] = dict(_INACTIVE)
        if found is not None and user_is_active(found["user_id"]):
            body = {"active": True, "token_type": found["token_type"], "sub": found["user_id"]}
            for claim in ("exp", "iat", "jti", "sid"):
                if found[claim] is not None:  # type: ignore[literal-required]
                    body[claim] = found[claim]  # type: ignore[literal-required]
            if found["token_type"] == "pat":
                body["scope"] = " ".join(found["scopes"])
        # RFC 7662 §4: the answer must not be cached.
        return Response(body, headers={"Cache-Control": "no-store"})


class RevokeRateThrottle(AttemptRateThrottle):
    """``TESSERA["REVOKE_RATE"]`` per client address (``THROTTLE``'s
    ``NUM_PROXIES`` says which), on the engine's shared attempt counters:
    exact across workers and hosts."""

    scope = "tessera.revoke"

    def get_rate(self) -> str | None:
        return tessera_settings().revoke_rate


class RevokeView(TesseraView):
    """``POST token=…`` → 200, empty body, always (RFC 7009 §2.2): a refresh
    or access token ends its session, a PAT is revoked, anything else is
    ignored."""

    parser_classes = (FormParser, JSONParser)
    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (RevokeRateThrottle,)

    def post(self, request: Request) -> HttpResponse:
        token = token_field(request)
        try:
            get_engine().revoke_token(token)
        except tessera.TesseraError as e:
            raise from_engine(e) from None
        return HttpResponse(status=status.HTTP_200_OK)


def token_field(request: Request) -> str:
    """The request's ``token`` parameter; 400 ``validation_error`` without one."""
    data = request.data
    token = data.get("token") if hasattr(data, "get") else None
    if not isinstance(token, str) or not token:
        raise validation_error("token: This field is required.")
    hint = data.get("token_type_hint")
    if hint is not None and not isinstance(hint, str):
        raise validation_error("token_type_hint: must be a string.")
    return token


def user_is_active(user_id: str) -> bool:
    """Whether the token's user still exists and is active, as authentication requires."""
    try:
        load_user(user_id)
    except TesseraAPIError:
        return False
    return True
