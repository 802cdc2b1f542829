"""The error body everywhere: Tessera's views, host views, and the handler itself."""

from __future__ import annotations

import pytest
import tessera
from django.contrib.auth.base_user import AbstractBaseUser
from rest_framework import exceptions
from rest_framework.test import APIClient
from tessera.django.exceptions import MESSAGES, TesseraAPIError, exception_handler, from_engine

from support import assert_error, bearer


class BrokenEngine:
    """Every call fails as a full disk would."""

    user_id_claim = "user_id"

    def __getattr__(self, name: str) -> object:
        def fail(*args: object, **kwargs: object) -> None:
            raise tessera.StorageError("disk full")

        return fail


@pytest.fixture
def broken(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("views", "authentication"):
        monkeypatch.setattr(f"tessera.django.{module}.get_engine", BrokenEngine)


def test_storage_error_on_refresh_is_503(
    api: APIClient, tokens: dict[str, str], broken: None
) -> None:
    response = api.post("/api/v1/auth/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert_error(response, 503, "storage_error")


def test_storage_error_on_login_is_503(
    api: APIClient, user: AbstractBaseUser, broken: None
) -> None:
    response = api.post(
        "/api/v1/auth/login/email/",
        {"email": "alice@example.com", "password": "correct horse battery staple"},
        format="json",
    )
    assert_error(response, 503, "storage_error")


def test_storage_error_while_authenticating_is_503(
    api: APIClient, tokens: dict[str, str], broken: None
) -> None:
    assert_error(api.get("/api/v1/me/", **bearer(tokens["access"])), 503, "storage_error")


def test_host_view_validation_error(api: APIClient, tokens: dict[str, str]) -> None:
    response = api.post("/host/validate/", {}, format="json", **bearer(tokens["access"]))
    assert_error(response, 400, "validation_error")
    assert response.json()["error"]["message"] == "title: This field is required."


def test_host_view_http404(api: APIClient, tokens: dict[str, str]) -> None:
    assert_error(api.get("/host/missing/", **bearer(tokens["access"])), 404, "not_found")


def test_host_view_authentication_failure(api: APIClient, db: None) -> None:
    assert_error(api.get("/host/missing/", **bearer("nope")), 401, "token_invalid")


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (
            exceptions.ValidationError({"a": ["bad"], "b": {"c": ["worse"]}}),
            400,
            "validation_error",
        ),
        (exceptions.ParseError(), 400, "validation_error"),
        (exceptions.NotAuthenticated(), 401, "not_authenticated"),
        (exceptions.AuthenticationFailed(), 401, "invalid_credentials"),
        (exceptions.PermissionDenied(), 403, "permission_denied"),
        (exceptions.NotFound(), 404, "not_found"),
        (exceptions.MethodNotAllowed("PATCH"), 405, "method_not_allowed"),
        (exceptions.Throttled(wait=3), 429, "too_many_attempts"),
        (tessera.TokenExpired("expired"), 401, "token_expired"),
        (tessera.StorageError("x"), 503, "storage_error"),
    ],
)
def test_handler_shapes(exc: Exception, status: int, code: str) -> None:
    response = exception_handler(exc, {})
    assert response is not None
    assert response.status_code == status
    assert set(response.data) == {"error"}
    assert set(response.data["error"]) == {"code", "message"}
    assert response.data["error"]["code"] == code
    assert response.data["error"]["message"]
    if code == "too_many_attempts":
        assert response.headers["Retry-After"] == "3"


def test_handler_flattens_nested_details() -> None:
    exc = exceptions.ValidationError({"a": ["bad"], "b": {"c": ["worse"]}})
    response = exception_handler(exc, {})
    assert response is not None
    assert response.data["error"]["message"] == "a: bad b.c: worse"


def test_handler_leaves_unknown_exceptions_and_config_errors_to_django() -> None:
    assert exception_handler(RuntimeError("boom"), {}) is None
    assert exception_handler(tessera.ConfigError("bad key"), {}) is None


def test_every_code_has_a_message() -> None:
    engine_codes = {
        cls.code
        for cls in (
            tessera.TokenInvalid,
            tessera.TokenExpired,
            tessera.TokenNotYetValid,
            tessera.TokenWrongType,
            tessera.TokenRevoked,
            tessera.RefreshReused,
            tessera.PatInvalid,
            tessera.PatExpired,
            tessera.PatRevoked,
            tessera.StorageError,
        )
    }
    ours = {
        "invalid_credentials",
        "user_inactive",
        "user_not_found",
        "validation_error",
        "not_authenticated",
        "permission_denied",
        "pat_not_allowed",
        "method_not_allowed",
    }
    assert engine_codes | ours <= set(MESSAGES)


def test_statuses_and_messages_follow_the_catalog() -> None:
    assert set(MESSAGES) == {code for code, _, _, _ in tessera.ERROR_CATALOG}
    for code, status_code, _, _ in tessera.ERROR_CATALOG:
        assert TesseraAPIError(code).status_code == status_code, code
    for cls in (c for c in vars(tessera).values() if isinstance(c, type)):
        if issubclass(cls, tessera.TesseraError) and cls not in (
            tessera.TesseraError,
            tessera.ConfigError,
        ):
            err = from_engine(cls("detail"))
            assert (
                err.status_code == dict((c, s) for c, s, _, _ in tessera.ERROR_CATALOG)[cls.code]
            ), cls
    with pytest.raises(ValueError, match="not a code"):
        TesseraAPIError("no_such_code")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/auth/login/email/",
        "/api/v1/auth/refresh/",
        "/api/v1/auth/verify/",
        "/api/v1/auth/logout/",
        "/api/v1/me/access-tokens/",
    ],
)
@pytest.mark.parametrize("body", [b"{", b'{"a": 1,}', b"\xff\xfe", b"[1, 2", b"nul"])
def test_malformed_json_is_never_a_500(
    api: APIClient, tokens: dict[str, str], path: str, body: bytes
) -> None:
    response = api.post(path, body, content_type="application/json", **bearer(tokens["access"]))
    assert_error(response, 400, "validation_error")


# --- Unknown URLs under the API: tessera.django.views.not_found, last in the
# example site's URL patterns.


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize("path", ["/api/v1/no-such-thing/", "/api/v1/auth/nope/", "/api/v1/x/y/z"])
def test_unknown_api_url_is_a_json_404(settings: object, debug: bool, path: str) -> None:
    settings.DEBUG = debug  # type: ignore[attr-defined]
    # A POST without a CSRF token, as a script would send to a mistyped URL.
    api = APIClient(enforce_csrf_checks=True)
    for response in (api.get(path), api.post(path, {"a": 1}, format="json")):
        assert response["Content-Type"] == "application/json"
        assert_error(response, 404, "not_found")
        assert path in response.json()["error"]["message"]


def test_missing_slash_names_the_url_with_one(api: APIClient) -> None:
    response = api.get("/api/v1/me")
    assert_error(response, 404, "not_found")
    assert "/api/v1/me/" in response.json()["error"]["message"]
    assert "trailing slash" not in api.get("/api/v1/nowhere").json()["error"]["message"]


def test_the_site_s_own_api_and_pages_still_resolve(
    api: APIClient, tokens: dict[str, str], settings: object
) -> None:
    assert api.get("/api/v1/portfolio/", **bearer(tokens["access"])).status_code == 200
    assert api.get("/api/v1/me/", **bearer(tokens["access"])).status_code == 200
    # Outside the API, a 404 stays Django's own page.
    settings.DEBUG = False  # type: ignore[attr-defined]
    page = api.get("/no-such-page/")
    assert page.status_code == 404
    assert "application/json" not in page["Content-Type"]
