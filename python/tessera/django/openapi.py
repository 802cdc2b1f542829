"""OpenAPI through drf-spectacular: Tessera's two auth schemes and the host API.

drf-spectacular is optional (``pip install "tessera[openapi]"``): the app
config imports this module only when it is installed. Importing it
registers, through drf-spectacular's public extension classes,

- security schemes for :class:`~tessera.django.authentication.PATAuthentication`
  and :class:`~tessera.django.authentication.JWTAuthentication` (bearer
  tokens; the PAT's format in its description);
- the request and response bodies of every view in :mod:`tessera.django.urls`,
  with the error body ``{"error": {"code", "message"}}`` and the codes each
  endpoint can answer, one example per code.

The views themselves stay free of drf-spectacular: each one is replaced,
for the schema only, by an annotated subclass (``OpenApiViewExtension``).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiViewExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers

from tessera.django.conf import tessera_settings
from tessera.django.exceptions import MESSAGES, STATUS

__all__ = ["JWTScheme", "PATScheme"]


# --- Security schemes.


class PATScheme(OpenApiAuthenticationExtension):
    """``Authorization: Bearer tsr_pat_…``: a personal access token."""

    target_class = "tessera.django.authentication.PATAuthentication"
    name = "tesseraPAT"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        options = tessera_settings()
        scheme = build_bearer_security_scheme_object(
            "Authorization", options.auth_header_types[0], "PAT"
        )
        scheme["description"] = (
            f"A personal access token: `{options.pat_prefix}` followed by 49 base62 "
            "characters (a random secret and a checksum), created with "
            "`POST me/access-tokens/` and shown only once. Without scopes it acts "
            "with its user's full rights; with scopes, only where a view's "
            "`required_scopes` are among them."
        )
        return scheme


class JWTScheme(OpenApiAuthenticationExtension):
    """``Authorization: Bearer <access token>``: a JWT from login or refresh."""

    target_class = "tessera.django.authentication.JWTAuthentication"
    name = "tesseraJWT"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        options = tessera_settings()
        scheme = build_bearer_security_scheme_object(
            "Authorization", options.auth_header_types[0], "JWT"
        )
        scheme["description"] = (
            f"An access token (a {options.algorithm} JWT) from `auth/login/email/` or "
            f"`auth/refresh/`; it lives {int(options.access_lifetime.total_seconds())} "
            "seconds. Refresh tokens are refused here."
        )
        return scheme


# --- Bodies, for the schema only.


class ErrorDetailBody(serializers.Serializer):  # type: ignore[type-arg]
    code = serializers.CharField(help_text="A stable code from the README's error catalog.")
    message = serializers.CharField(help_text="For people; may change between releases.")


class ErrorBody(serializers.Serializer):  # type: ignore[type-arg]
    error = ErrorDetailBody()


class TokenPairBody(serializers.Serializer):  # type: ignore[type-arg]
    access = serializers.CharField(help_text="The access token (JWT).")
    refresh = serializers.CharField(
        required=False,
        help_text="The refresh token (JWT); single use. Absent in cookie mode, "
        "where it travels in the HttpOnly refresh cookie.",
    )


class UserBody(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.JSONField(help_text="The user's USER_ID_FIELD: an integer or a string.")
    email = serializers.CharField()
    username = serializers.CharField()


class LoginBody(serializers.Serializer):  # type: ignore[type-arg]
    tokens = TokenPairBody()
    user = UserBody()


class EmailLoginRequest(serializers.Serializer):  # type: ignore[type-arg]
    email = serializers.CharField()
    password = serializers.CharField()


class RefreshRequest(serializers.Serializer):  # type: ignore[type-arg]
    refresh = serializers.CharField(
        required=False,
        help_text="Required, unless cookie mode sends it in the refresh cookie "
        "(then with an X-CSRFToken header).",
    )


class ReauthenticateRequest(serializers.Serializer):  # type: ignore[type-arg]
    password = serializers.CharField(help_text="The user's password, checked again.")


class VerifyRequest(serializers.Serializer):  # type: ignore[type-arg]
    token = serializers.CharField(help_text="An access or a refresh token.")


class EmptyBody(serializers.Serializer):  # type: ignore[type-arg]
    pass


class LogoutRequest(serializers.Serializer):  # type: ignore[type-arg]
    refresh = serializers.CharField(
        required=False,
        help_text="The refresh token of the session to end; not needed in cookie "
        "mode or with a Django session.",
    )


class CreatePatRequest(serializers.Serializer):  # type: ignore[type-arg]
    name = serializers.CharField(max_length=100)
    expires_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="In the future, with a time zone. Absent: never, or now + "
        "PAT_MAX_LIFETIME when that is set (a later one is refused).",
    )
    scopes = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        allow_null=True,
        help_text="Absent or null: the token has its user's full rights. "
        "A list, even []: only these scopes.",
    )


class PatBody(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.CharField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The display prefix: the token's first characters.")
    scopes = serializers.ListField(
        child=serializers.CharField(),
        allow_null=True,
        help_text="null: unrestricted (the user's full rights).",
    )
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)


class NewPatBody(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.CharField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    token = serializers.CharField(help_text="The token itself, shown only in this response.")
    scopes = serializers.ListField(child=serializers.CharField(), allow_null=True)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)


class SessionBody(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.CharField(help_text="The session (token family) id: sid in its tokens.")
    created_at = serializers.DateTimeField()
    last_refreshed_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    current = serializers.BooleanField(help_text="Whether the request's own token is of it.")


class JWKSBody(serializers.Serializer):  # type: ignore[type-arg]
    keys = serializers.ListField(
        child=serializers.DictField(), help_text="Public JWKs (RFC 7517), with kid, alg, use."
    )


class TokenRequest(serializers.Serializer):  # type: ignore[type-arg]
    token = serializers.CharField(help_text="An access token, a refresh token or a PAT.")
    token_type_hint = serializers.CharField(
        required=False, help_text="Accepted and not needed: the kinds are told apart."
    )


class IntrospectionBody(serializers.Serializer):  # type: ignore[type-arg]
    active = serializers.BooleanField(help_text="False, alone, for any token not valid now.")
    token_type = serializers.ChoiceField(
        choices=["access_token", "refresh_token", "pat"], required=False
    )
    sub = serializers.CharField(required=False, help_text="The user id.")
    exp = serializers.IntegerField(required=False)
    iat = serializers.IntegerField(required=False)
    jti = serializers.CharField(required=False, help_text="JWTs only.")
    sid = serializers.CharField(required=False, help_text="The session, for JWTs.")
    scope = serializers.CharField(required=False, help_text="A PAT's scopes, space-separated.")


class LeakMatchRequest(serializers.Serializer):  # type: ignore[type-arg]
    token = serializers.CharField()
    type = serializers.CharField()
    url = serializers.CharField(required=False)
    source = serializers.CharField(required=False)


class LeakLabelBody(serializers.Serializer):  # type: ignore[type-arg]
    token_hash = serializers.CharField(help_text="SHA-256 of the token, hex.")
    token_type = serializers.CharField()
    label = serializers.ChoiceField(choices=["true_positive", "false_positive"])


# --- The error codes each endpoint can answer.

_BEARER_401 = (
    "not_authenticated",
    "token_invalid",
    "token_expired",
    "token_not_yet_valid",
    "token_wrong_type",
    "token_revoked",
    "pat_invalid",
    "pat_expired",
    "pat_revoked",
    "user_not_found",
    "user_inactive",
)
_REFRESH_401 = (
    "token_invalid",
    "token_expired",
    "token_not_yet_valid",
    "token_wrong_type",
    "token_revoked",
    "refresh_reused",
    "user_not_found",
    "user_inactive",
)
_STORE = {503: ("storage_error",)}
_AUTHENTICATED = {401: _BEARER_401, **_STORE}


def errors(codes: dict[int, tuple[str, ...]]) -> dict[int, OpenApiResponse]:
    """One response per status: the error body, its codes listed, one example each.

    Each code must be one the catalog answers with that status, except an
    engine code about a token sent in the body (not the request's
    credential), which is a 400, and ``not_authenticated`` where only a
    Django session authenticates, which DRF answers with a 403."""
    for status, names in codes.items():
        for code in names:
            expected = STATUS.get(code)
            body_token = status == 400 and expected == 401
            session_only = status == 403 and code == "not_authenticated"
            if expected != status and not (body_token or session_only):
                raise ValueError(f"{code} is a {expected} in tessera.ERROR_CATALOG, not a {status}")
    return {
        status: OpenApiResponse(
            response=ErrorBody,
            description="Error codes: " + ", ".join(f"`{c}`" for c in names) + ".",
            examples=[
                OpenApiExample(
                    f"{status} {code}",
                    value={"error": {"code": code, "message": MESSAGES.get(code, code)}},
                    response_only=True,
                    status_codes=[str(status)],
                )
                for code in names
            ],
        )
        for status, names in codes.items()
    }


def _operation(
    summary: str,
    request: Any,
    ok: dict[int, Any],
    codes: dict[int, tuple[str, ...]],
    **extra: Any,
) -> Any:
    return extend_schema(
        summary=summary,
        request=request,
        responses={**ok, **errors(codes)},
        tags=["tessera"],
        **extra,
    )


# view class (by name in tessera.django.views, else dotted) -> {method: its annotation}
_OPERATIONS: dict[str, dict[str, Any]] = {
    "EmailLoginView": {
        "post": _operation(
            "Log in with email and password",
            EmailLoginRequest,
            {200: LoginBody},
            {
                400: ("validation_error",),
                401: ("invalid_credentials", "user_inactive"),
                429: ("too_many_attempts",),
                **_STORE,
            },
            auth=[],
        )
    },
    "RefreshView": {
        "post": _operation(
            "Exchange a refresh token for a new pair",
            RefreshRequest,
            {200: TokenPairBody},
            {400: ("validation_error",), 401: _REFRESH_401, 403: ("permission_denied",), **_STORE},
            auth=[],
            description="The refresh token is spent; presenting it again revokes its session "
            "(`refresh_reused`). In cookie mode a refused cookie is cleared.",
        )
    },
    "ReauthenticateView": {
        "post": _operation(
            "Check the password again: a new pair in the same session",
            ReauthenticateRequest,
            {200: TokenPairBody},
            {
                400: ("validation_error",),
                401: ("invalid_credentials", *_BEARER_401),
                403: ("pat_not_allowed",),
                429: ("too_many_attempts",),
                **_STORE,
            },
            description="With a bearer access token. The new tokens carry a fresh "
            "`auth_time`, which views with `HasRecentAuth` require; the session and its "
            "`sid` stay the same. In cookie mode the refresh token goes into the cookie.",
        )
    },
    "VerifyView": {
        "post": _operation(
            "Check an access or refresh token",
            VerifyRequest,
            {200: EmptyBody},
            {400: ("validation_error",), 401: _REFRESH_401[:-2], **_STORE},
            auth=[],
        )
    },
    "SessionTokensView": {
        "post": _operation(
            "Trade a Django session for tokens",
            None,
            {200: LoginBody},
            {403: ("not_authenticated", "permission_denied"), **_STORE},
            description="Needs the session cookie and an X-CSRFToken header.",
        )
    },
    "LogoutView": {
        "post": _operation(
            "End this session",
            LogoutRequest,
            {204: None},
            {
                400: ("validation_error", "token_invalid", "token_wrong_type"),
                403: ("pat_not_allowed", "permission_denied"),
                **_AUTHENTICATED,
            },
        )
    },
    "LogoutAllView": {
        "post": _operation(
            "End every session of the user",
            None,
            {204: None},
            {403: ("pat_not_allowed",), **_AUTHENTICATED},
        )
    },
    "MeView": {"get": _operation("The current user", None, {200: UserBody}, _AUTHENTICATED)},
    "AccessTokensView": {
        "get": _operation(
            "List the user's personal access tokens",
            None,
            {200: PatBody(many=True)},
            _AUTHENTICATED,
        ),
        "post": _operation(
            "Create a personal access token",
            CreatePatRequest,
            {201: NewPatBody},
            {400: ("validation_error",), 403: ("pat_not_allowed",), **_AUTHENTICATED},
        ),
    },
    "AccessTokenView": {
        "delete": _operation(
            "Revoke a personal access token",
            None,
            {204: None},
            {404: ("not_found",), **_AUTHENTICATED},
            parameters=[
                OpenApiParameter("pat_id", str, OpenApiParameter.PATH, description="Its id.")
            ],
        )
    },
    "SessionView": {
        "delete": _operation(
            "End one of the user's sessions",
            None,
            {204: None},
            {403: ("pat_not_allowed",), 404: ("not_found",), **_AUTHENTICATED},
            parameters=[
                OpenApiParameter(
                    "session_id", str, OpenApiParameter.PATH, description="Its id (`sid`)."
                )
            ],
        )
    },
    "SessionsView": {
        "get": _operation(
            "List the user's live sessions",
            None,
            {200: SessionBody(many=True)},
            _AUTHENTICATED,
        )
    },
    "tessera.django.token_endpoints.JWKSView": {
        "get": _operation(
            "The public keys that verify this site's tokens",
            None,
            {200: JWKSBody},
            {404: ("not_found",)},
            auth=[],
            description="Cache-Control: public, max-age=300. An HMAC site has no public "
            "key and answers 404.",
        )
    },
    "tessera.django.token_endpoints.IntrospectView": {
        "post": _operation(
            "Introspect a token (RFC 7662)",
            {"application/x-www-form-urlencoded": TokenRequest},
            {200: IntrospectionBody},
            {
                400: ("validation_error",),
                403: ("permission_denied",),
                401: ("not_authenticated", "pat_invalid", "pat_expired", "pat_revoked"),
                **_STORE,
            },
            description="For a PAT with the scope tessera:introspect, of a staff user.",
        )
    },
    "tessera.django.token_endpoints.RevokeView": {
        "post": _operation(
            "Revoke a token (RFC 7009)",
            {"application/x-www-form-urlencoded": TokenRequest},
            {200: None},
            {400: ("validation_error",), 429: ("too_many_attempts",), **_STORE},
            auth=[],
            description="200 with an empty body whether or not the token was valid. "
            'Limited per client address (TESSERA["REVOKE_RATE"]).',
        )
    },
    "tessera.django.secret_scanning.GitHubSecretScanningView": {
        "post": _operation(
            "GitHub secret-scanning alerts",
            LeakMatchRequest(many=True),
            {200: LeakLabelBody(many=True)},
            {
                400: ("validation_error",),
                401: ("not_authenticated", "invalid_credentials"),
                404: ("not_found",),
                **_STORE,
            },
            auth=[],
            description="Signed by GitHub (Github-Public-Key-Identifier and "
            "Github-Public-Key-Signature). Live Tessera PATs named in it are revoked.",
        )
    },
}


def _extension(view_name: str, methods: dict[str, Any]) -> type[OpenApiViewExtension]:
    # A bare name is a view of tessera.django.views; others are dotted paths.
    target = view_name if "." in view_name else f"tessera.django.views.{view_name}"

    def view_replacement(self: OpenApiViewExtension) -> Any:
        annotated = type(self.target.__name__, (self.target,), {})
        return extend_schema_view(**methods)(annotated)

    return type(
        f"{target.rpartition('.')[2]}Schema",
        (OpenApiViewExtension,),
        {
            "target_class": target,
            "view_replacement": view_replacement,
            "__module__": __name__,
        },
    )


VIEW_SCHEMAS = [_extension(name, methods) for name, methods in _OPERATIONS.items()]
