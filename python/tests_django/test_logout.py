"""POST auth/logout/ and POST auth/logout-all/."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.sessions.models import Session
from rest_framework.test import APIClient
from tessera.django.engine import get_engine

from support import assert_error, bearer, login

LOGOUT = "/api/v1/auth/logout/"
LOGOUT_ALL = "/api/v1/auth/logout-all/"
REFRESH = "/api/v1/auth/refresh/"
ME = "/api/v1/me/"


def test_logout_revokes_that_session(api: APIClient, tokens: dict[str, str]) -> None:
    other = login(api, "alice@example.com")
    response = api.post(
        LOGOUT, {"refresh": tokens["refresh"]}, format="json", **bearer(tokens["access"])
    )
    assert response.status_code == 204
    assert response.content == b""
    assert_error(
        api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json"), 401, "token_revoked"
    )
    assert_error(api.get(ME, **bearer(tokens["access"])), 401, "token_revoked")
    # The user's other session is untouched.
    assert api.get(ME, **bearer(other["access"])).status_code == 200


def test_logout_after_rotation_ends_the_session(api: APIClient, tokens: dict[str, str]) -> None:
    rotated = api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json").json()
    response = api.post(
        LOGOUT, {"refresh": rotated["refresh"]}, format="json", **bearer(rotated["access"])
    )
    assert response.status_code == 204
    assert_error(api.get(ME, **bearer(rotated["access"])), 401, "token_revoked")


def test_logout_is_idempotent(api: APIClient, tokens: dict[str, str]) -> None:
    other = login(api, "alice@example.com")
    body = {"refresh": tokens["refresh"]}
    assert api.post(LOGOUT, body, format="json", **bearer(other["access"])).status_code == 204
    assert api.post(LOGOUT, body, format="json", **bearer(other["access"])).status_code == 204


def test_logout_needs_the_refresh_token(api: APIClient, tokens: dict[str, str]) -> None:
    assert_error(
        api.post(LOGOUT, {}, format="json", **bearer(tokens["access"])), 400, "validation_error"
    )


def test_logout_with_a_malformed_refresh_token(api: APIClient, tokens: dict[str, str]) -> None:
    response = api.post(LOGOUT, {"refresh": "junk"}, format="json", **bearer(tokens["access"]))
    assert_error(response, 400, "token_invalid")


def test_logout_with_an_access_token_as_refresh(api: APIClient, tokens: dict[str, str]) -> None:
    response = api.post(
        LOGOUT, {"refresh": tokens["access"]}, format="json", **bearer(tokens["access"])
    )
    assert_error(response, 400, "token_wrong_type")


def test_logout_refuses_another_users_refresh_token(
    api: APIClient, tokens: dict[str, str], other_user: AbstractBaseUser
) -> None:
    bobs = login(api, "bob@example.com")
    response = api.post(
        LOGOUT, {"refresh": bobs["refresh"]}, format="json", **bearer(tokens["access"])
    )
    assert_error(response, 403, "permission_denied")
    assert api.get(ME, **bearer(bobs["access"])).status_code == 200


def test_logout_without_credentials(api: APIClient, tokens: dict[str, str]) -> None:
    response = api.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json")
    assert_error(response, 401, "not_authenticated")


def test_logout_with_a_pat_is_refused(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str]
) -> None:
    pat = get_engine().create_pat(user.pk, "ci")
    response = api.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json", **bearer(pat.token))
    assert_error(response, 403, "pat_not_allowed")
    assert api.get(ME, **bearer(tokens["access"])).status_code == 200


def test_logout_flushes_the_django_session(user: AbstractBaseUser) -> None:
    client = APIClient()
    client.force_login(user)
    assert Session.objects.count() == 1
    pair = login(client, "alice@example.com")
    response = client.post(
        LOGOUT, {"refresh": pair["refresh"]}, format="json", **bearer(pair["access"])
    )
    assert response.status_code == 204
    assert Session.objects.count() == 0


def test_session_logout_needs_no_refresh_token(user: AbstractBaseUser) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/")
    csrf = client.cookies["csrftoken"].value
    assert client.post(LOGOUT, HTTP_X_CSRFTOKEN=csrf).status_code == 204
    assert Session.objects.count() == 0
    assert client.get("/api/v1/me/").status_code == 401


def test_logout_all_revokes_every_session(api: APIClient, tokens: dict[str, str]) -> None:
    second = login(api, "alice@example.com")
    response = api.post(LOGOUT_ALL, **bearer(tokens["access"]))
    assert response.status_code == 204
    for pair in (tokens, second):
        assert_error(api.get(ME, **bearer(pair["access"])), 401, "token_revoked")
        assert_error(
            api.post(REFRESH, {"refresh": pair["refresh"]}, format="json"), 401, "token_revoked"
        )
    # Logging in again works at once.
    fresh = login(api, "alice@example.com")
    assert api.get(ME, **bearer(fresh["access"])).status_code == 200


def test_logout_all_leaves_other_users_alone(
    api: APIClient, tokens: dict[str, str], other_user: AbstractBaseUser
) -> None:
    bobs = login(api, "bob@example.com")
    api.post(LOGOUT_ALL, **bearer(tokens["access"]))
    assert api.get(ME, **bearer(bobs["access"])).status_code == 200


def test_logout_all_leaves_pats_working(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str]
) -> None:
    pat = get_engine().create_pat(user.pk, "ci")
    api.post(LOGOUT_ALL, **bearer(tokens["access"]))
    assert api.get(ME, **bearer(pat.token)).status_code == 200


def test_logout_all_without_credentials(api: APIClient, db: None) -> None:
    assert_error(api.post(LOGOUT_ALL), 401, "not_authenticated")


def test_logout_all_with_a_pat_is_refused(api: APIClient, user: AbstractBaseUser) -> None:
    pat = get_engine().create_pat(user.pk, "ci")
    assert_error(api.post(LOGOUT_ALL, **bearer(pat.token)), 403, "pat_not_allowed")
