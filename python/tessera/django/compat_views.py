"""djangorestframework-simplejwt's four token endpoints, backed by Tessera.

Clients written for simplejwt keep working while a site moves: the same
URLs (:mod:`tessera.django.compat_urls`), request bodies, response bodies
and error bodies (``{"detail", "code"}``, or DRF's field errors for a bad
body). Behind them is Tessera's engine with all its rules: refresh always
rotates (the response always carries a new ``refresh``), a spent refresh
token revokes its session, and logout is a real revocation.

Where simplejwt would answer differently, this answers as its client
expects: every refused token is ``token_not_valid`` with simplejwt's
wording ("Token is invalid", "Token is expired", "Token has wrong type",
"Token is blacklisted"); a refresh for a deleted or inactive user is
``no_active_account``, and that session ends, as at
``auth/refresh/``. A store failure is a 503 with code
``storage_error``. ``token/`` is throttled as Tessera's login is
(:mod:`tessera.django.throttle`): over a limit, a 429 with ``Retry-After``
and ``{"detail", "code": "too_many_attempts"}``, before the password is
checked.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import update_last_login
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

import tessera
from tessera.django import simplejwt, throttle
from tessera.django.conf import tessera_settings
from tessera.django.engine import get_engine
from tessera.django.exceptions import TesseraAPIError
from tessera.django.users import user_id_of
from tessera.django.views import hook_claims, rotate_refresh

__all__ = [
    "TokenBlacklistView",
    "TokenObtainPairView",
    "TokenRefreshView",
    "TokenVerifyView",
]

# simplejwt's messages for a refused token, by Tessera's code.
_TOKEN_MESSAGES = {
    "token_expired": "Token is expired",
    "token_not_yet_valid": "Token is invalid",
    "token_wrong_type": "Token has wrong type",
    "token_revoked": "Token is blacklisted",
    "refresh_reused": "Token is blacklisted",
}
_BLACKLISTED = ("token_revoked", "refresh_reused")


class TokenNotValid(exceptions.AuthenticationFailed):
    """simplejwt's ``InvalidToken``: 401 ``{"detail", "code": "token_not_valid"}``."""

    def __init__(self, detail: str = "Token is invalid", code: str = "token_not_valid") -> None:
        super().__init__({"detail": detail, "code": code})


class StoreUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE

    def __init__(self) -> None:
        super().__init__({"detail": "The token store is unavailable.", "code": "storage_error"})


class SimpleJWTView(APIView):
    """simplejwt's ``TokenViewBase``: no authentication, errors in its shape
    whatever the site's EXCEPTION_HANDLER."""

    authentication_classes = ()
    permission_classes = ()
    parser_classes = (JSONParser, FormParser, MultiPartParser)
    renderer_classes = (JSONRenderer,)

    def get_exception_handler(self) -> Any:
        return drf_exception_handler

    def get_authenticate_header(self, request: Request) -> str:
        return f'{tessera_settings().auth_header_types[0]} realm="api"'


class TooManyAttempts(exceptions.APIException):
    """A 429 in simplejwt's error shape; ``wait`` becomes ``Retry-After``."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS

    def __init__(self, wait: int) -> None:
        super().__init__(
            {
                "detail": "Too many attempts; try again after the time in Retry-After.",
                "code": "too_many_attempts",
            }
        )
        self.wait = wait


def token_error(error: tessera.TesseraError) -> exceptions.APIException:
    """The simplejwt error for an engine error."""
    if isinstance(error, tessera.StorageError):
        return StoreUnavailable()
    if isinstance(error, tessera.ConfigError):
        raise error
    return TokenNotValid(_TOKEN_MESSAGES.get(error.code, "Token is invalid"))


class _Credentials(serializers.Serializer):  # type: ignore[type-arg]
    password = serializers.CharField(write_only=True, style={"input_type": "password"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields[get_user_model().USERNAME_FIELD] = serializers.CharField(write_only=True)


class _Refresh(serializers.Serializer):  # type: ignore[type-arg]
    refresh = serializers.CharField()


class _Token(serializers.Serializer):  # type: ignore[type-arg]
    token = serializers.CharField()


class TokenObtainPairView(SimpleJWTView):
    """``POST {USERNAME_FIELD, "password"}`` → ``{"refresh", "access"}``."""

    def post(self, request: Request) -> Response:
        body = _Credentials(data=request.data)
        body.is_valid(raise_exception=True)
        username_field = get_user_model().USERNAME_FIELD
        account = str(body.validated_data[username_field])
        try:
            throttle.check_login(request, account)
        except throttle.TooManyAttempts as e:
            raise TooManyAttempts(e.wait) from None
        except tessera.TesseraError as e:
            raise token_error(e) from None
        user = authenticate(
            request._request,
            **{username_field: body.validated_data[username_field]},
            password=body.validated_data["password"],
        )
        if user is None or not getattr(user, "is_active", True):
            raise exceptions.AuthenticationFailed(
                "No active account found with the given credentials", "no_active_account"
            )
        try:
            throttle.login_succeeded(request, account)
        except tessera.TesseraError as e:
            raise token_error(e) from None
        claims = hook_claims(user)
        try:
            pair = get_engine().issue(user_id_of(user), claims)
        except tessera.TesseraError as e:
            raise token_error(e) from None
        if tessera_settings().update_last_login:
            update_last_login(None, user)
        return Response({"refresh": pair.refresh, "access": pair.access})


class TokenRefreshView(SimpleJWTView):
    """``POST {"refresh"}`` → ``{"access", "refresh"}``: always rotated."""

    def post(self, request: Request) -> Response:
        body = _Refresh(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            pair = rotate_refresh(body.validated_data["refresh"])
        except tessera.TesseraError as e:
            raise token_error(e) from None
        except TesseraAPIError as e:
            if e.code == "token_revoked":
                raise TokenNotValid("Token is blacklisted") from None
            raise TokenNotValid(
                "No active account found for the given token.", "no_active_account"
            ) from None
        return Response({"access": pair.access, "refresh": pair.refresh})


class TokenVerifyView(SimpleJWTView):
    """``POST {"token"}`` → 200 ``{}`` for a good access or refresh token."""

    def post(self, request: Request) -> Response:
        body = _Token(data=request.data)
        body.is_valid(raise_exception=True)
        token = body.validated_data["token"]
        engine = get_engine()
        try:
            try:
                claims = engine.verify_access(token)
            except tessera.TokenWrongType:
                claims = engine.verify_refresh(token)
        except tessera.TesseraError as e:
            if e.code in _BLACKLISTED:
                # simplejwt's verify reports a blacklisted token as a field error.
                raise exceptions.ValidationError(
                    {"non_field_errors": ["Token is blacklisted"]}
                ) from None
            raise token_error(e) from None
        if simplejwt.blacklisted(claims):
            raise exceptions.ValidationError({"non_field_errors": ["Token is blacklisted"]})
        return Response({})


class TokenBlacklistView(SimpleJWTView):
    """``POST {"refresh"}`` → 200 ``{}``: that session is revoked (logout)."""

    def post(self, request: Request) -> Response:
        body = _Refresh(data=request.data)
        body.is_valid(raise_exception=True)
        token = body.validated_data["refresh"]
        engine = get_engine()
        try:
            claims = engine.verify_refresh(token)
            if simplejwt.blacklisted(claims):
                raise TokenNotValid("Token is blacklisted")
            engine.revoke(token)
        except tessera.TesseraError as e:
            raise token_error(e) from None
        return Response({})
