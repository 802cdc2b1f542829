"""The host API: login, rotation, logout, the current user, PATs and sessions.

Every view takes and returns JSON only, and answers errors as
``{"error": {"code", "message"}}`` (:mod:`tessera.django.exceptions`),
whatever the host's EXCEPTION_HANDLER. The token endpoints never create a
Django session.

In cookie mode (``TESSERA["REFRESH_COOKIE"]``) the refresh token travels in
an HttpOnly cookie instead of the JSON body; whenever that cookie is what
authenticates a request, the request must carry a CSRF token. With
``"OPT_IN": True`` only browser requests use the cookie (:func:`wants_refresh_cookie`),
so one site serves its SPA and its API clients at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from django.contrib.auth import authenticate, get_user_model, logout
from django.contrib.auth import signals as auth_signals
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import update_last_login
from django.http import HttpRequest, JsonResponse
from django.middleware.csrf import get_token
from django.urls import Resolver404, resolve, reverse
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

import tessera
from tessera.django import simplejwt, throttle
from tessera.django.authentication import (
    JWTAuthentication,
    PATAuthentication,
    bearer_credential,
)
from tessera.django.conf import OPT_IN_HEADER, OPT_IN_VALUE, tessera_settings
from tessera.django.credentials import keep_token_session
from tessera.django.engine import get_engine
from tessera.django.exceptions import (
    TesseraAPIError,
    exception_handler,
    from_engine,
    validation_error,
)
from tessera.django.permissions import UNRESTRICTED_SCOPE, DenyPAT, scopes_body
from tessera.django.users import load_user, user_body, user_id_of

__all__ = [
    "AccessTokenView",
    "AccessTokensView",
    "EmailLoginView",
    "LogoutAllView",
    "LogoutView",
    "MeView",
    "ReauthenticateView",
    "RefreshView",
    "SessionTokensView",
    "SessionsView",
    "TesseraView",
    "VerifyView",
    "not_found",
]

_KINDS: dict[type, str] = {str: "a string", list: "a list"}

# A refresh token that is already over needs no logout.
_ALREADY_ENDED = (tessera.TokenExpired, tessera.TokenRevoked, tessera.RefreshReused)


class TesseraView(APIView):
    """Base of the API's views: JSON in and out, Tessera's error bodies."""

    parser_classes: tuple[type[Any], ...] = (JSONParser,)
    renderer_classes: tuple[type[Any], ...] = (JSONRenderer,)
    authentication_classes: tuple[type[Any], ...] = (
        PATAuthentication,
        JWTAuthentication,
        SessionAuthentication,
    )
    permission_classes: tuple[type[Any], ...] = (IsAuthenticated,)

    def get_exception_handler(self) -> Callable[..., Response | None]:
        return exception_handler


# --- Authentication: tokens from credentials, a session, or a refresh token.


class EmailLoginView(TesseraView):
    """``POST {"email", "password"}`` → ``{"tokens": {"access", "refresh"}, "user"}``."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    def post(self, request: Request) -> Response:
        data = read_body(request, {"email": str, "password": str}, required=("email", "password"))
        throttle.check_login(request, data["email"])
        user = authenticate_email(request, data["email"], data["password"])
        throttle.login_succeeded(request, data["email"])
        return login_response(request, user)


class SessionTokensView(TesseraView):
    """``POST`` with a Django session cookie and a CSRF token → the login body."""

    authentication_classes = (SessionAuthentication,)

    def post(self, request: Request) -> Response:
        # A Django session means a browser: always cookie mode, when on.
        return login_response(request, request.user, browser=True)


class RefreshView(TesseraView):
    """``POST {"refresh"}`` → ``{"access", "refresh"}``, both new; the old
    refresh token is spent. Presenting a spent one revokes its session."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    cookie_used = False

    def post(self, request: Request) -> Response:
        data = read_body(request, {"refresh": str})
        token = data.get("refresh")
        cookie = tessera_settings().refresh_cookie
        if token is None and cookie is not None:
            token = request.COOKIES.get(cookie.name) or None
            if token is not None:
                self.cookie_used = True
                # The browser sends the cookie by itself, so it proves
                # nothing about who made the request; the CSRF token does.
                SessionAuthentication().enforce_csrf(request._request)
        if token is None:
            raise validation_error("refresh: This field is required.")

        try:
            pair = rotate_refresh(token)
        except tessera.TesseraError as e:
            raise from_engine(e) from None
        response = Response({"access": pair.access, "refresh": pair.refresh})
        return with_refresh_cookie(request, response, pair, browser=self.cookie_used)

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        if self.cookie_used and response.status_code == status.HTTP_401_UNAUTHORIZED:
            # The cookie's token can never work again; stop sending it.
            delete_refresh_cookie(self.request, response)
        return response


class ReauthenticateView(TesseraView):
    """``POST {"password"}`` with a bearer access token → ``{"access",
    "refresh"}``: a new pair in the same session, whose ``auth_time`` is now
    (for :class:`~tessera.django.permissions.HasRecentAuth`). A wrong
    password is 401 ``invalid_credentials``; attempts are throttled per user
    and client address as logins are."""

    authentication_classes = (PATAuthentication, JWTAuthentication)
    permission_classes = (IsAuthenticated, DenyPAT)

    def post(self, request: Request) -> Response:
        password = read_body(request, {"password": str}, required=("password",))["password"]
        user = request.user
        account = str(user_id_of(user))
        throttle.check_login(request, account, scope="reauthenticate")
        # A password check may rehash the password (a hasher upgrade), which
        # ends the user's other sessions; never this one.
        with keep_token_session(request):
            checked = authenticate(
                request._request, username=user.get_username(), password=password
            )
        if checked is None or checked.pk != user.pk:
            raise TesseraAPIError("invalid_credentials", status_code=status.HTTP_401_UNAUTHORIZED)
        throttle.login_succeeded(request, account, scope="reauthenticate")
        # JWTAuthentication accepted the request, so it carries an access token.
        access = bearer_credential(request) or ""
        claims = hook_claims(user)
        try:
            pair = get_engine().reauthenticate(access, extra_claims=claims)
        except tessera.TesseraError as e:
            raise from_engine(e) from None
        response = Response({"access": pair.access, "refresh": pair.refresh})
        return with_refresh_cookie(request, response, pair)


class VerifyView(TesseraView):
    """``POST {"token"}`` → 200 ``{}`` if the access or refresh token is good now, else 401."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    def post(self, request: Request) -> Response:
        token = read_body(request, {"token": str}, required=("token",))["token"]
        engine = get_engine()
        try:
            try:
                engine.verify_access(token)
            except tessera.TokenWrongType:
                engine.verify_refresh(token)
        except tessera.TesseraError as e:
            raise from_engine(e) from None
        return Response({})


class LogoutView(TesseraView):
    """``POST {"refresh"}`` with a bearer access token → 204: revokes that
    session (token family) and flushes the Django session."""

    permission_classes = (IsAuthenticated, DenyPAT)

    def post(self, request: Request) -> Response:
        token = read_body(request, {"refresh": str}).get("refresh")
        cookie = tessera_settings().refresh_cookie
        if token is None and cookie is not None:
            token = request.COOKIES.get(cookie.name) or None
        if token is not None:
            end_token_session(request, token)
        elif not isinstance(request.successful_authenticator, SessionAuthentication):
            raise validation_error("refresh: This field is required.")
        end_django_session(request)
        return delete_refresh_cookie(request, Response(status=status.HTTP_204_NO_CONTENT))


class LogoutAllView(TesseraView):
    """``POST`` → 204: revokes every session of the user (``revoke_user``)."""

    permission_classes = (IsAuthenticated, DenyPAT)

    def post(self, request: Request) -> Response:
        try:
            get_engine().revoke_user(user_id_of(request.user))
        except tessera.TesseraError as e:
            raise from_engine(e) from None
        end_django_session(request)
        return delete_refresh_cookie(request, Response(status=status.HTTP_204_NO_CONTENT))


# --- The current user, their PATs and their sessions.


class MeView(TesseraView):
    """``GET`` → ``{"id", "email", "username"}``, however the request authenticated."""

    def get(self, request: Request) -> Response:
        return Response(user_body(request.user))


class AccessTokensView(TesseraView):
    """``GET`` lists the user's PATs (never the token); ``POST {"name",
    "expires_at"?, "scopes"?}`` → 201 with the token, shown only this once.
    With ``PAT_MAX_LIFETIME`` set, ``expires_at`` defaults to that far ahead
    and may not lie beyond it.

    Without ``scopes`` the PAT is unrestricted (``"scopes": null``); with
    ``scopes``, even ``[]``, it may do only what they allow."""

    def get_permissions(self) -> list[BasePermission]:
        permissions: list[BasePermission] = list(super().get_permissions())
        if self.request.method == "POST":
            permissions.append(DenyPAT())
        return permissions

    def get(self, request: Request) -> Response:
        try:
            pats = get_engine().list_pats(user_id_of(request.user))
        except tessera.TesseraError as e:
            raise from_engine(e) from None
        return Response([pat_body(p) for p in pats])

    def post(self, request: Request) -> Response:
        data = read_body(
            request,
            {"name": str, "expires_at": str, "scopes": list},
            required=("name",),
            strict=True,
        )
        expires_at = limit_pat_lifetime(parse_expiry(data.get("expires_at")))
        # Absent (or null) scopes: unrestricted; [] restricts to nothing.
        if "scopes" not in data:
            scopes = [UNRESTRICTED_SCOPE]
        else:
            scopes = data["scopes"]
            if not all(isinstance(s, str) for s in scopes):
                raise validation_error("scopes: must be a list of strings.")
            if UNRESTRICTED_SCOPE in scopes:
                raise validation_error(
                    f"scopes: {UNRESTRICTED_SCOPE!r} is reserved; leave out scopes "
                    "for a token with the user's full rights."
                )
        try:
            new = get_engine().create_pat(
                user_id_of(request.user), data["name"], expires_at=expires_at, scopes=scopes
            )
        except tessera.ConfigError as e:
            raise validation_error(str(e)) from None
        except tessera.TesseraError as e:
            raise from_engine(e) from None
        body = {
            "id": new.id,
            "name": new.name,
            "prefix": new.prefix,
            "token": new.token,
            "scopes": scopes_body(new),
            "created_at": iso(new.created_at),
            "expires_at": iso(new.expires_at),
        }
        return Response(body, status=status.HTTP_201_CREATED)


class AccessTokenView(TesseraView):
    """``DELETE`` → 204; the PAT stops working at once, in every process."""

    def delete(self, request: Request, pat_id: str) -> Response:
        try:
            revoked = get_engine().revoke_pat(user_id_of(request.user), pat_id)
        except tessera.TesseraError as e:
            raise from_engine(e) from None
        if not revoked:
            raise TesseraAPIError("not_found", "No such personal access token.", 404)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SessionsView(TesseraView):
    """``GET`` → the user's active sessions; ``current`` marks this request's."""

    def get(self, request: Request) -> Response:
        try:
            sessions = get_engine().sessions(user_id_of(request.user))
        except tessera.TesseraError as e:
            raise from_engine(e) from None
        current = request.auth.get("sid") if isinstance(request.auth, dict) else None
        return Response(
            [
                {
                    "id": s.family_id,
                    "created_at": iso(s.created_at),
                    "last_refreshed_at": iso(s.last_refreshed_at),
                    "expires_at": iso(s.expires_at),
                    "current": s.family_id == current,
                }
                for s in sessions
            ]
        )


class SessionView(TesseraView):
    """``DELETE`` → 204; that session of the user ends at once, in every
    process. Another user's session, or an unknown id, is 404 ``not_found``;
    a PAT may not end sessions (403 ``pat_not_allowed``)."""

    permission_classes = (IsAuthenticated, DenyPAT)

    def delete(self, request: Request, session_id: str) -> Response:
        try:
            ended = get_engine().revoke_session(user_id_of(request.user), session_id)
        except tessera.ConfigError:
            # Not a session id at all (32 lowercase hex digits).
            ended = False
        except tessera.TesseraError as e:
            raise from_engine(e) from None
        if not ended:
            raise TesseraAPIError("not_found", "No such session.", 404)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Unknown URLs.


@csrf_exempt
def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """404 ``{"error": {"code": "not_found", ...}}`` for a URL the API lacks.

    Put it last in the site's URL patterns, under the API's prefix, so that
    every unknown API URL answers JSON whether DEBUG is on or off (Django's
    ``handler404`` is not used while DEBUG is on)::

        re_path(r"^api/v1/", not_found)

    It also serves as ``handler404``, which makes every 404 of the site
    JSON. The catch-all pattern leaves APPEND_SLASH nothing to redirect, so
    the message names the URL with a slash when that one exists. It is
    exempt from CSRF checks: it reads nothing and changes nothing, and a
    POST to a wrong URL should learn that the URL is wrong.
    """
    message = f"There is nothing at {request.path}."
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/", getattr(request, "urlconf", None))
        except Resolver404:
            match = None
        if match is not None and match.func is not not_found:
            message += f" Did you mean {request.path}/ (with a trailing slash)?"
    return JsonResponse(
        {"error": {"code": "not_found", "message": message}}, status=status.HTTP_404_NOT_FOUND
    )


# --- Helpers, public for host views that extend the API.


def read_body(
    request: Request,
    fields: Mapping[str, type],
    required: Collection[str] = (),
    strict: bool = False,
) -> dict[str, Any]:
    """The JSON object body, with `fields` type-checked; null and "" count as absent.

    Raises 400 ``validation_error`` for a body that is not an object, a
    missing required field, a value of the wrong type, and (when `strict`)
    an unknown field.
    """
    data = request.data
    if not isinstance(data, dict):
        raise validation_error("The body must be a JSON object.")
    if strict:
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise validation_error("Unknown fields: " + ", ".join(unknown) + ".")
    values = {k: data[k] for k in fields if data.get(k) not in (None, "")}
    for name in required:
        if name not in values:
            raise validation_error(f"{name}: This field is required.")
    for name, value in values.items():
        expected = fields[name]
        if not isinstance(value, expected) or isinstance(value, bool):
            kind = _KINDS.get(expected, expected.__name__)
            raise validation_error(f"{name}: must be {kind}.")
    return values


def authenticate_email(request: Request, email: str, password: str) -> AbstractBaseUser:
    """The user with this email and password, through Django's auth backends.

    Raises 401 ``invalid_credentials``, or ``user_inactive`` when the
    password is right but the account is inactive.
    """
    model = get_user_model()
    email_field = model.get_email_field_name()
    candidates = list(model._default_manager.filter(**{f"{email_field}__iexact": email})[:2])
    if len(candidates) != 1:
        # Hash anyway, so the response time does not tell whether the email exists.
        model().set_password(password)
        auth_signals.user_login_failed.send(
            sender=__name__, credentials={"email": email}, request=request._request
        )
        raise TesseraAPIError("invalid_credentials", status_code=status.HTTP_401_UNAUTHORIZED)
    candidate = candidates[0]
    user = authenticate(request._request, username=candidate.get_username(), password=password)
    if user is not None and user.pk == candidate.pk:
        return user
    if not getattr(candidate, "is_active", True) and candidate.check_password(password):
        raise TesseraAPIError("user_inactive", status_code=status.HTTP_401_UNAUTHORIZED)
    raise TesseraAPIError("invalid_credentials", status_code=status.HTTP_401_UNAUTHORIZED)


def login_response(request: Request, user: AbstractBaseUser, *, browser: bool = False) -> Response:
    """A new session for `user`: ``{"tokens": {"access", "refresh"}, "user"}``;
    `browser` says that the request comes from a browser whatever its headers."""
    claims = hook_claims(user)
    try:
        pair = get_engine().issue(user_id_of(user), claims)
    except tessera.TesseraError as e:
        raise from_engine(e) from None
    if tessera_settings().update_last_login:
        update_last_login(None, user)
    body = {"tokens": {"access": pair.access, "refresh": pair.refresh}, "user": user_body(user)}
    return with_refresh_cookie(request, Response(body), pair, browser=browser)


def wants_refresh_cookie(request: Request, *, browser: bool = False) -> bool:
    """Whether the refresh token of this response goes in the cookie.

    Never outside cookie mode; always in cookie mode without ``OPT_IN``;
    with ``OPT_IN``, when the request is known to come from a browser
    (`browser`: a Django session, or a refresh by the cookie) or asks with
    ``X-Tessera-Refresh: cookie``, as the browser client does.
    """
    cookie = tessera_settings().refresh_cookie
    if cookie is None:
        return False
    if not cookie.opt_in or browser:
        return True
    return request.headers.get(OPT_IN_HEADER, "").strip().lower() == OPT_IN_VALUE


def with_refresh_cookie(
    request: Request, response: Response, pair: tessera.TokenPair, *, browser: bool = False
) -> Response:
    """In cookie mode, moves the refresh token from the body into the cookie
    (for a request that :func:`wants_refresh_cookie`)."""
    cookie = tessera_settings().refresh_cookie
    if cookie is None or not wants_refresh_cookie(request, browser=browser):
        return response
    body = response.data
    body.get("tokens", body).pop("refresh")
    response.set_cookie(
        cookie.name,
        pair.refresh,
        max_age=max(0, pair.refresh_expires_at - int(datetime.now(timezone.utc).timestamp())),
        path=cookie_path(request),
        domain=cookie.domain,
        secure=cookie.secure,
        httponly=True,
        samesite=cookie.samesite,
    )
    # The SPA needs a CSRF token for its later cookie-authenticated refreshes.
    get_token(request._request)
    return response


def delete_refresh_cookie(request: Request, response: Response) -> Response:
    """In cookie mode, tells the browser to drop the refresh cookie."""
    cookie = tessera_settings().refresh_cookie
    if cookie is not None:
        response.delete_cookie(
            cookie.name, path=cookie_path(request), domain=cookie.domain, samesite=cookie.samesite
        )
    return response


def cookie_path(request: Request) -> str:
    """The configured cookie path, or the folder of the refresh endpoint."""
    cookie = tessera_settings().refresh_cookie
    if cookie is not None and cookie.path is not None:
        return cookie.path
    match = request._request.resolver_match
    namespace = match.namespace if match is not None and match.namespace else "tessera"
    refresh = str(reverse(f"{namespace}:refresh"))
    return refresh.rstrip("/").rsplit("/", 1)[0] + "/"


def hook_claims(user: AbstractBaseUser) -> dict[str, Any] | None:
    """The extra claims ``CLAIMS_HOOK`` gives `user`'s next tokens, or None
    without a hook. Called at every login and rotation; whatever the hook
    raises propagates (a 500, and nothing is issued or rotated), and so does
    a result that is not a dict. The engine checks the claims as it checks
    any extra claims: a reserved name is its ``config_invalid`` (a 500)."""
    hook = tessera_settings().claims_hook
    if hook is None:
        return None
    claims = hook(user)
    if not isinstance(claims, Mapping):
        raise TypeError(
            f"TESSERA['CLAIMS_HOOK'] must return a dict of claims, not {type(claims).__name__}"
        )
    return dict(claims)


def rotate_refresh(token: str) -> tessera.TokenPair:
    """One rotation of refresh `token`, as every refresh endpoint of the
    site does it (``auth/refresh/`` and the simplejwt-compatible
    ``token/refresh/``): the user is checked before the rotation, as
    simplejwt does, on the claims of the one verification that the rotation
    then completes, and ``CLAIMS_HOOK`` runs (a hook that raises fails the
    request before anything is rotated).

    Raises the engine's :class:`tessera.TesseraError`; a 401
    ``token_revoked`` for a token on simplejwt's blacklist; a 401
    ``user_not_found`` or ``user_inactive``, having ended the session."""
    engine = get_engine()
    pending = engine.begin_refresh(token)
    if simplejwt.blacklisted(pending.claims):
        raise TesseraAPIError("token_revoked", status_code=status.HTTP_401_UNAUTHORIZED)
    user = check_session_user(engine, pending.claims, token)
    claims = hook_claims(user)
    return engine.complete_refresh(pending, extra_claims=claims)


def check_session_user(
    engine: tessera.Engine, claims: dict[str, Any], refresh: str
) -> AbstractBaseUser:
    """The user of a session's refresh token.

    Raises 401 ``user_not_found`` or ``user_inactive`` when the user was
    deleted or deactivated since the login, and then ends that session (the
    one of refresh token `refresh`) too."""
    try:
        return load_user(claims[engine.user_id_claim])
    except TesseraAPIError:
        # The 401 stands whatever happens here: a session already over
        # needs no revoking, and the user check refuses it anyway.
        with contextlib.suppress(tessera.TesseraError):
            engine.revoke(refresh)
        raise


def end_token_session(request: Request, token: str) -> None:
    """Revokes the session of refresh `token`, which must be the user's own."""
    engine = get_engine()
    try:
        claims = engine.verify_refresh(token)
    except _ALREADY_ENDED:
        claims = None
    except tessera.StorageError as e:
        raise from_engine(e) from None
    except tessera.TesseraError as e:
        raise TesseraAPIError(e.code, status_code=status.HTTP_400_BAD_REQUEST) from None
    if claims is not None and str(claims[engine.user_id_claim]) != str(user_id_of(request.user)):
        raise TesseraAPIError(
            "permission_denied", "The refresh token belongs to another user.", 403
        )
    try:
        engine.revoke(token)
    except _ALREADY_ENDED:
        pass
    except tessera.TesseraError as e:
        raise from_engine(e) from None


def end_django_session(request: Request) -> None:
    """Flushes the request's Django session, if it has one."""
    django_request = request._request
    session = getattr(django_request, "session", None)
    if session is not None and (session.session_key or not session.is_empty()):
        logout(django_request)


def pat_body(pat: tessera.Pat) -> dict[str, Any]:
    """A PAT as the list shows it: everything but the token."""
    return {
        "id": pat.id,
        "name": pat.name,
        "prefix": pat.prefix,
        "scopes": scopes_body(pat),
        "created_at": iso(pat.created_at),
        "expires_at": iso(pat.expires_at),
        "last_used_at": iso(pat.last_used_at),
    }


def iso(timestamp: int | None) -> str | None:
    """``2026-12-31T00:00:00Z`` for a UTC timestamp."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_expiry(value: str | None) -> datetime | None:
    """An ISO 8601 instant with a time zone, in the future; None stays None."""
    if value is None:
        return None
    parsed: datetime | None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise validation_error(
            'expires_at: must be an ISO 8601 date and time, e.g. "2026-12-31T00:00:00Z".'
        )
    if parsed.tzinfo is None:
        raise validation_error('expires_at: must include a time zone, e.g. "2026-12-31T00:00:00Z".')
    if parsed <= datetime.now(timezone.utc):
        raise validation_error("expires_at: must be in the future.")
    return parsed


def limit_pat_lifetime(expires_at: datetime | None) -> datetime | None:
    """Applies ``PAT_MAX_LIFETIME``: no expiry becomes now + the maximum, and
    a later one is a 400 ``validation_error`` that says the maximum."""
    maximum = tessera_settings().pat_max_lifetime
    if maximum is None:
        return expires_at
    latest = datetime.now(timezone.utc).replace(microsecond=0) + maximum
    if expires_at is None:
        return latest
    if expires_at > latest:
        raise validation_error(
            f"expires_at: must be at most {describe_duration(maximum)} from now "
            f"(PAT_MAX_LIFETIME), no later than {iso(int(latest.timestamp()))}."
        )
    return expires_at


def describe_duration(duration: timedelta) -> str:
    """``90 days``, ``12 hours`` or ``600 seconds``: the largest whole unit."""
    seconds = int(duration.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}" + ("s" if count != 1 else "")
    return f"{seconds} seconds"


def signup_response(
    request: Request, user: AbstractBaseUser, status_code: int = status.HTTP_201_CREATED
) -> Response:
    """What a site's own sign-up view answers once it has created `user`:
    a first session, as the login body ``{"tokens": {"access", "refresh"},
    "user"}`` (the refresh token in the cookie in cookie mode), 201 by default::

        class SignUpView(TesseraView):
            authentication_classes = ()
            permission_classes = (AllowAny,)

            def post(self, request):
                form = SignUpForm(request.data)
                ...
                return signup_response(request, form.save())

    The session starts as a login's does: the engine's ``session_issued``
    audit event, and ``last_login`` when ``UPDATE_LAST_LOGIN`` is set.
    """
    response = login_response(request, user)
    response.status_code = status_code
    return response
