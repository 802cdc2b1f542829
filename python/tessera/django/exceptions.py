"""Error responses: ``{"error": {"code": "<stable code>", "message": "..."}}``.

Point DRF at :func:`exception_handler` so that host views answer the same
way as Tessera's::

    REST_FRAMEWORK = {"EXCEPTION_HANDLER": "tessera.django.exceptions.exception_handler"}

Codes and their HTTP statuses come from the one catalog,
``tessera.ERROR_CATALOG``: the engine's (``token_expired``,
``refresh_reused``, ...) and this layer's (``invalid_credentials``, ...).
Every 401 carries ``WWW-Authenticate: Bearer realm="api"``; ``storage_error``
is a 503. Messages are fixed per code and never contain a token.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

import tessera

AUTH_HEADER = 'Bearer realm="api"'

#: The HTTP status of every code, from the catalog.
STATUS: dict[str, int] = {code: status for code, status, _, _ in tessera.ERROR_CATALOG}

MESSAGES: dict[str, str] = {
    # The engine's codes.
    "token_invalid": "The token is invalid.",
    "token_expired": "The token has expired.",
    "token_not_yet_valid": "The token is not valid yet.",
    "token_wrong_type": "The token is of the wrong type for this use.",
    "token_revoked": "The session of this token has ended.",
    "refresh_reused": "The refresh token was already used; its session is now revoked.",
    "pat_invalid": "The personal access token is invalid.",
    "pat_expired": "The personal access token has expired.",
    "pat_revoked": "The personal access token was revoked.",
    "storage_error": "The token store is unavailable; nothing took effect. Try again.",
    "random_failed": "The server could not make a token; nothing took effect. Try again.",
    "config_invalid": "The server is misconfigured.",
    # This layer's codes.
    "invalid_credentials": "No active account was found with these credentials.",
    "user_inactive": "The user account is inactive.",
    "user_not_found": "The user of this token no longer exists.",
    "validation_error": "The request body is invalid.",
    "not_authenticated": "Authentication credentials were not provided.",
    "permission_denied": "You do not have permission to perform this action.",
    "pat_not_allowed": "A personal access token cannot be used here; log in instead.",
    "method_not_allowed": "This method is not allowed here.",
    "not_found": "Not found.",
    "too_many_attempts": "Too many attempts; try again after the time in Retry-After.",
    "reauthentication_required": "This action needs a recent login; reauthenticate first.",
}

# DRF's own exception codes, renamed where this API's differ.
_DRF_CODES = {
    "invalid": "validation_error",
    "parse_error": "validation_error",
    "authentication_failed": "invalid_credentials",
    "not_authenticated": "not_authenticated",
    "permission_denied": "permission_denied",
    "not_found": "not_found",
    "method_not_allowed": "method_not_allowed",
    "throttled": "too_many_attempts",
}


class TesseraAPIError(exceptions.APIException):
    """An error with a stable code, raised by Tessera's views and classes."""

    def __init__(
        self, code: str, message: str | None = None, status_code: int | None = None
    ) -> None:
        if code not in STATUS:
            raise ValueError(f"{code!r} is not a code of tessera.ERROR_CATALOG")
        super().__init__(message or MESSAGES.get(code, code), code)
        # The catalog's status; a caller names another only where the code
        # describes something other than the request's credential.
        status_code = STATUS[code] if status_code is None else status_code
        self.status_code = status_code
        self.code = code
        if status_code == status.HTTP_401_UNAUTHORIZED:
            self.auth_header = AUTH_HEADER


def validation_error(message: str) -> TesseraAPIError:
    """A 400 ``validation_error`` with `message`."""
    return TesseraAPIError("validation_error", message, status.HTTP_400_BAD_REQUEST)


def from_engine(error: tessera.TesseraError) -> exceptions.APIException:
    """The HTTP error for an engine error raised while serving a request.

    A ``config_invalid`` from the engine is a server bug or a bad setting,
    so it is re-raised for Django to report as a 500.
    """
    if isinstance(error, tessera.ConfigError):
        raise error
    return TesseraAPIError(error.code)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every handled error as ``{"error": {...}}``.

    Returns None (a 500) for exceptions it does not know, as DRF's does.
    """
    if isinstance(exc, tessera.TesseraError) and not isinstance(exc, tessera.ConfigError):
        exc = from_engine(exc)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None

    code, message = _code_and_message(exc)
    headers = {}
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    wait = getattr(exc, "wait", None)
    if wait:
        headers["Retry-After"] = str(int(wait))
    # Imported here: rest_framework.views imports the authentication classes
    # named in settings, and those import this module.
    from rest_framework.views import set_rollback

    set_rollback()
    return Response(
        {"error": {"code": code, "message": message}},
        status=exc.status_code,
        headers=headers,
    )


def _code_and_message(exc: exceptions.APIException) -> tuple[str, str]:
    if isinstance(exc, TesseraAPIError):
        return exc.code, str(exc.detail)
    if isinstance(exc, exceptions.ValidationError):
        return "validation_error", _flatten(exc.detail) or MESSAGES["validation_error"]
    detail = exc.detail
    raw_code = getattr(detail, "code", None) or exc.default_code
    code = _DRF_CODES.get(raw_code, raw_code)
    if isinstance(exc, exceptions.ParseError):
        code = "validation_error"
    if isinstance(exc, exceptions.NotAuthenticated):
        code = "not_authenticated"
    return code, _flatten(detail) or MESSAGES.get(code, code)


def _flatten(detail: Any, field: str | None = None) -> str:
    """One line from DRF's nested error details: ``"email: This field is required."``."""
    if isinstance(detail, dict):
        return " ".join(
            _flatten(v, k if field is None else f"{field}.{k}") for k, v in detail.items()
        )
    if isinstance(detail, list):
        return " ".join(_flatten(v, field) for v in detail)
    text = str(detail)
    if field and field != "non_field_errors":
        return f"{field}: {text}"
    return text
