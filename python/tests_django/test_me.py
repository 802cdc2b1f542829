"""GET me/ and GET me/sessions/, and the authentication classes' failure paths."""

from __future__ import annotations

import pytest
from django.contrib.auth.base_user import AbstractBaseUser
from rest_framework.test import APIClient
from tessera.django.engine import get_engine

from support import ISO_RE, assert_error, bearer, login

ME = "/api/v1/me/"
SESSIONS = "/api/v1/me/sessions/"


def expected(user: AbstractBaseUser) -> dict[str, object]:
    return {"id": user.pk, "email": "alice@example.com", "username": "alice"}


def test_me_with_a_jwt(api: APIClient, user: AbstractBaseUser, tokens: dict[str, str]) -> None:
    response = api.get(ME, **bearer(tokens["access"]))
    assert response.status_code == 200
    assert response.json() == expected(user)


def test_me_with_a_pat(api: APIClient, user: AbstractBaseUser) -> None:
    pat = get_engine().create_pat(user.pk, "ci")
    response = api.get(ME, **bearer(pat.token))
    assert response.status_code == 200
    assert response.json() == expected(user)


def test_me_with_a_session(user: AbstractBaseUser) -> None:
    client = APIClient()
    client.force_login(user)
    assert client.get(ME).json() == expected(user)


def test_me_with_the_lowercase_scheme(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str]
) -> None:
    assert api.get(ME, HTTP_AUTHORIZATION=f"bearer {tokens['access']}").status_code == 200


def test_me_without_credentials(api: APIClient, db: None) -> None:
    assert_error(api.get(ME), 401, "not_authenticated")


def test_other_authorization_schemes_pass_through(api: APIClient, db: None) -> None:
    assert_error(api.get(ME, HTTP_AUTHORIZATION="Basic YWxpY2U6cHc="), 401, "not_authenticated")


@pytest.mark.parametrize(
    ("credential", "code"),
    [
        ("garbage", "token_invalid"),
        ("a.b.c", "token_invalid"),
        ("tsr_pat_short", "pat_invalid"),
        ("tsr_pat_" + "A" * 49, "pat_invalid"),
    ],
)
def test_bad_bearer_credentials(api: APIClient, db: None, credential: str, code: str) -> None:
    assert_error(api.get(ME, **bearer(credential)), 401, code)


def test_a_refresh_token_cannot_authenticate(api: APIClient, tokens: dict[str, str]) -> None:
    assert_error(api.get(ME, **bearer(tokens["refresh"])), 401, "token_wrong_type")


def test_expired_access_token(api: APIClient, user: AbstractBaseUser, settings: object) -> None:
    settings.TESSERA = {**settings.TESSERA, "ACCESS_TOKEN_LIFETIME": 1}  # type: ignore[attr-defined]
    pair = get_engine().issue(user.pk)
    import time

    time.sleep(2.1)
    assert_error(api.get(ME, **bearer(pair.access)), 401, "token_expired")


def test_inactive_user_is_rejected(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str]
) -> None:
    pat = get_engine().create_pat(user.pk, "ci")
    user.is_active = False
    user.save()
    assert_error(api.get(ME, **bearer(tokens["access"])), 401, "user_inactive")
    assert_error(api.get(ME, **bearer(pat.token)), 401, "user_inactive")


def test_deleted_user_is_rejected(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str]
) -> None:
    pat = get_engine().create_pat(user.pk, "ci")
    user.delete()
    assert_error(api.get(ME, **bearer(tokens["access"])), 401, "user_not_found")
    assert_error(api.get(ME, **bearer(pat.token)), 401, "user_not_found")


def test_request_auth_is_the_claims_or_the_pat(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str]
) -> None:
    import tessera
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory
    from tessera.django.authentication import JWTAuthentication, PATAuthentication

    factory = APIRequestFactory()
    jwt_request = Request(factory.get(ME, **bearer(tokens["access"])))
    authed, claims = JWTAuthentication().authenticate(jwt_request)  # type: ignore[misc]
    assert authed.pk == user.pk
    assert claims["user_id"] == str(user.pk)
    assert "sid" in claims

    new = get_engine().create_pat(user.pk, "ci", scopes=["portfolio:read"])
    pat_request = Request(factory.get(ME, **bearer(new.token)))
    authed, pat = PATAuthentication().authenticate(pat_request)  # type: ignore[misc]
    assert isinstance(pat, tessera.Pat)
    assert pat.scopes == ("portfolio:read",)
    # A JWT is not PATAuthentication's to judge.
    assert PATAuthentication().authenticate(jwt_request) is None


# --- sessions


def test_sessions_lists_active_sessions(api: APIClient, tokens: dict[str, str]) -> None:
    second = login(api, "alice@example.com")
    response = api.get(SESSIONS, **bearer(tokens["access"]))
    assert response.status_code == 200
    sessions = response.json()
    assert len(sessions) == 2
    for s in sessions:
        assert set(s) == {"id", "created_at", "last_refreshed_at", "expires_at", "current"}
        assert all(
            ISO_RE.fullmatch(s[k]) for k in ("created_at", "last_refreshed_at", "expires_at")
        )
    assert sorted(s["current"] for s in sessions) == [False, True]
    api.post(
        "/api/v1/auth/logout/",
        {"refresh": second["refresh"]},
        format="json",
        **bearer(tokens["access"]),
    )
    assert len(api.get(SESSIONS, **bearer(tokens["access"])).json()) == 1


def test_sessions_without_credentials(api: APIClient, db: None) -> None:
    assert_error(api.get(SESSIONS), 401, "not_authenticated")


def test_deleting_a_session_ends_it_at_once(api: APIClient, tokens: dict[str, str]) -> None:
    second = login(api, "alice@example.com")
    sessions = api.get(SESSIONS, **bearer(tokens["access"])).json()
    (other,) = [s for s in sessions if not s["current"]]
    response = api.delete(f"{SESSIONS}{other['id']}/", **bearer(tokens["access"]))
    assert response.status_code == 204
    assert_error(api.get(SESSIONS, **bearer(second["access"])), 401, "token_revoked")
    refreshed = api.post("/api/v1/auth/refresh/", {"refresh": second["refresh"]}, format="json")
    assert_error(refreshed, 401, "token_revoked")
    assert [s["current"] for s in api.get(SESSIONS, **bearer(tokens["access"])).json()] == [True]
    # Gone now: a second delete finds nothing.
    again = api.delete(f"{SESSIONS}{other['id']}/", **bearer(tokens["access"]))
    assert_error(again, 404, "not_found")


def test_another_users_or_an_unknown_session_is_not_found(
    api: APIClient, tokens: dict[str, str], other_user: AbstractBaseUser
) -> None:
    bobs = login(api, "bob@example.com")
    (bobs_session,) = api.get(SESSIONS, **bearer(bobs["access"])).json()
    for session_id in (bobs_session["id"], "0" * 32, "not-a-session", "A" * 32):
        response = api.delete(f"{SESSIONS}{session_id}/", **bearer(tokens["access"]))
        assert_error(response, 404, "not_found")
    # Bob's session lives on.
    assert api.get(SESSIONS, **bearer(bobs["access"])).status_code == 200


def test_a_pat_cannot_end_a_session(api: APIClient, user: AbstractBaseUser) -> None:
    pair = get_engine().issue(str(user.pk))
    pat = get_engine().create_pat(str(user.pk), "ci")
    sid = get_engine().verify_access(pair.access)["sid"]
    response = api.delete(f"{SESSIONS}{sid}/", **bearer(pat.token))
    assert_error(response, 403, "pat_not_allowed")
    get_engine().verify_access(pair.access)
