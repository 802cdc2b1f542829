"""POST auth/login/email/ and POST auth/from-session/."""

from __future__ import annotations

import pytest
import tessera
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.sessions.models import Session
from rest_framework.test import APIClient
from tessera.django.engine import get_engine

from support import PASSWORD, assert_error, bearer

LOGIN = "/api/v1/auth/login/email/"
FROM_SESSION = "/api/v1/auth/from-session/"


def test_login_returns_tokens_and_user(api: APIClient, user: AbstractBaseUser) -> None:
    response = api.post(LOGIN, {"email": "alice@example.com", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"tokens", "user"}
    assert set(body["tokens"]) == {"access", "refresh"}
    assert body["user"] == {"id": user.pk, "email": "alice@example.com", "username": "alice"}
    claims = get_engine().verify_access(body["tokens"]["access"])
    assert claims["user_id"] == str(user.pk)


def test_login_email_is_case_insensitive(api: APIClient, user: AbstractBaseUser) -> None:
    response = api.post(LOGIN, {"email": "Alice@Example.COM", "password": PASSWORD}, format="json")
    assert response.status_code == 200


def test_login_never_creates_a_django_session(api: APIClient, user: AbstractBaseUser) -> None:
    response = api.post(LOGIN, {"email": "alice@example.com", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    assert "sessionid" not in response.cookies
    assert Session.objects.count() == 0


def test_wrong_password_is_invalid_credentials(api: APIClient, user: AbstractBaseUser) -> None:
    response = api.post(LOGIN, {"email": "alice@example.com", "password": "nope"}, format="json")
    assert_error(response, 401, "invalid_credentials")


def test_unknown_email_is_invalid_credentials(api: APIClient, db: None) -> None:
    response = api.post(LOGIN, {"email": "nobody@example.com", "password": PASSWORD}, format="json")
    assert_error(response, 401, "invalid_credentials")


def test_duplicate_email_is_invalid_credentials(
    api: APIClient, user: AbstractBaseUser, other_user: AbstractBaseUser
) -> None:
    other_user.email = user.email
    other_user.save()
    response = api.post(LOGIN, {"email": "alice@example.com", "password": PASSWORD}, format="json")
    assert_error(response, 401, "invalid_credentials")


def test_inactive_user_with_right_password_is_user_inactive(
    api: APIClient, user: AbstractBaseUser
) -> None:
    user.is_active = False
    user.save()
    response = api.post(LOGIN, {"email": "alice@example.com", "password": PASSWORD}, format="json")
    assert_error(response, 401, "user_inactive")


def test_inactive_user_with_wrong_password_is_invalid_credentials(
    api: APIClient, user: AbstractBaseUser
) -> None:
    user.is_active = False
    user.save()
    response = api.post(LOGIN, {"email": "alice@example.com", "password": "nope"}, format="json")
    assert_error(response, 401, "invalid_credentials")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": "alice@example.com"},
        {"password": PASSWORD},
        {"email": None, "password": PASSWORD},
        {"email": 42, "password": PASSWORD},
        {"email": "alice@example.com", "password": ["x"]},
        {"email": True, "password": PASSWORD},
        ["alice@example.com", PASSWORD],
        "alice@example.com",
        17,
    ],
)
def test_malformed_bodies_are_validation_errors(
    api: APIClient, user: AbstractBaseUser, body: object
) -> None:
    assert_error(api.post(LOGIN, body, format="json"), 400, "validation_error")


def test_malformed_json_is_a_validation_error(api: APIClient, user: AbstractBaseUser) -> None:
    response = api.post(LOGIN, b'{"email": "alice@', content_type="application/json")
    assert_error(response, 400, "validation_error")


def test_form_encoding_is_refused(api: APIClient, user: AbstractBaseUser) -> None:
    response = api.post(LOGIN, {"email": "alice@example.com", "password": PASSWORD})
    assert_error(response, 415, "unsupported_media_type")


def test_get_is_method_not_allowed(api: APIClient, db: None) -> None:
    assert_error(api.get(LOGIN), 405, "method_not_allowed")


def test_update_last_login(api: APIClient, user: AbstractBaseUser, settings: object) -> None:
    settings.TESSERA = {**settings.TESSERA, "UPDATE_LAST_LOGIN": True}  # type: ignore[attr-defined]
    assert user.last_login is None
    api.post(LOGIN, {"email": "alice@example.com", "password": PASSWORD}, format="json")
    user.refresh_from_db()
    assert user.last_login is not None


# --- from-session: a Django session and its CSRF token buy a token pair.


def csrf_client(user: AbstractBaseUser) -> tuple[APIClient, str]:
    """A session-logged-in client that enforces CSRF, and its CSRF token."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.get("/")  # the home page sets the csrftoken cookie
    assert response.status_code == 200
    return client, client.cookies["csrftoken"].value


def test_from_session_with_csrf_returns_the_login_body(user: AbstractBaseUser) -> None:
    client, csrf = csrf_client(user)
    response = client.post(FROM_SESSION, HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"tokens", "user"}
    assert body["user"]["email"] == "alice@example.com"
    me = APIClient().get("/api/v1/me/", **bearer(body["tokens"]["access"]))
    assert me.status_code == 200


def test_from_session_without_csrf_is_forbidden(user: AbstractBaseUser) -> None:
    client, _ = csrf_client(user)
    response = client.post(FROM_SESSION)
    assert_error(response, 403, "permission_denied")
    assert "CSRF" in response.json()["error"]["message"]


def test_from_session_with_a_wrong_csrf_token_is_forbidden(user: AbstractBaseUser) -> None:
    client, _ = csrf_client(user)
    response = client.post(FROM_SESSION, HTTP_X_CSRFTOKEN="x" * 32)
    assert_error(response, 403, "permission_denied")


def test_from_session_without_a_session_is_not_authenticated(api: APIClient, db: None) -> None:
    # SessionAuthentication has no WWW-Authenticate challenge, so DRF answers 403.
    assert_error(api.post(FROM_SESSION), 403, "not_authenticated")


def test_from_session_ignores_bearer_tokens(api: APIClient, tokens: dict[str, str]) -> None:
    response = api.post(FROM_SESSION, **bearer(tokens["access"]))
    assert_error(response, 403, "not_authenticated")


def test_from_session_rejects_a_storage_failure_as_503(
    user: AbstractBaseUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, csrf = csrf_client(user)

    class Broken:
        def issue(self, *args: object, **kwargs: object) -> None:
            raise tessera.StorageError("disk on fire")

    monkeypatch.setattr("tessera.django.views.get_engine", lambda: Broken())
    assert_error(client.post(FROM_SESSION, HTTP_X_CSRFTOKEN=csrf), 503, "storage_error")
