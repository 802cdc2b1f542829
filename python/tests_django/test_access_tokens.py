"""GET|POST me/access-tokens/ and DELETE me/access-tokens/<id>/: the PAT lifecycle."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from django.contrib.auth.base_user import AbstractBaseUser
from rest_framework.test import APIClient

from support import ISO_RE, PAT_RE, assert_error, bearer, sleep_past

TOKENS = "/api/v1/me/access-tokens/"
ME = "/api/v1/me/"


def create(api: APIClient, access: str, **body: object) -> object:
    return api.post(TOKENS, {"name": "ci-sync", **body}, format="json", **bearer(access))


def test_full_lifecycle(api: APIClient, user: AbstractBaseUser, tokens: dict[str, str]) -> None:
    response = create(
        api, tokens["access"], scopes=["projects:write"], expires_at="2099-12-31T00:00:00Z"
    )
    assert response.status_code == 201
    new = response.json()
    assert set(new) == {"id", "name", "prefix", "token", "scopes", "created_at", "expires_at"}
    assert PAT_RE.fullmatch(new["token"])
    assert new["token"].startswith(new["prefix"])
    assert len(new["prefix"]) == len("tsr_pat_") + 4
    assert new["name"] == "ci-sync"
    assert new["scopes"] == ["projects:write"]
    assert new["expires_at"] == "2099-12-31T00:00:00Z"
    assert ISO_RE.fullmatch(new["created_at"])

    # It authenticates.
    assert api.get(ME, **bearer(new["token"])).json()["id"] == user.pk

    # The list shows it, never with the token.
    listed = api.get(TOKENS, **bearer(tokens["access"]))
    assert listed.status_code == 200
    [item] = listed.json()
    assert "token" not in item
    assert new["token"] not in listed.content.decode()
    assert item["id"] == new["id"]
    assert item["prefix"] == new["prefix"]
    assert set(item) == {
        "id",
        "name",
        "prefix",
        "scopes",
        "created_at",
        "expires_at",
        "last_used_at",
    }
    assert ISO_RE.fullmatch(item["last_used_at"])

    # Revoked: it stops working at once.
    deleted = api.delete(f"{TOKENS}{new['id']}/", **bearer(tokens["access"]))
    assert deleted.status_code == 204
    assert_error(api.get(ME, **bearer(new["token"])), 401, "pat_revoked")
    assert api.get(TOKENS, **bearer(tokens["access"])).json() == []
    assert_error(api.delete(f"{TOKENS}{new['id']}/", **bearer(tokens["access"])), 404, "not_found")


def test_defaults(api: APIClient, tokens: dict[str, str]) -> None:
    new = create(api, tokens["access"]).json()
    assert new["scopes"] is None
    assert new["expires_at"] is None


def test_a_pat_cannot_mint_a_pat(api: APIClient, tokens: dict[str, str]) -> None:
    pat = create(api, tokens["access"]).json()["token"]
    assert_error(create(api, pat), 403, "pat_not_allowed")


def test_a_pat_can_list_and_revoke(api: APIClient, tokens: dict[str, str]) -> None:
    new = create(api, tokens["access"]).json()
    assert api.get(TOKENS, **bearer(new["token"])).status_code == 200
    assert api.delete(f"{TOKENS}{new['id']}/", **bearer(new["token"])).status_code == 204
    assert_error(api.get(ME, **bearer(new["token"])), 401, "pat_revoked")


def test_a_session_can_create_a_pat(user: AbstractBaseUser) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/")
    csrf = client.cookies["csrftoken"].value
    response = client.post(TOKENS, {"name": "from-browser"}, format="json", HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 201
    assert_error(client.post(TOKENS, {"name": "no-csrf"}, format="json"), 403, "permission_denied")


def test_users_cannot_touch_each_others_pats(
    api: APIClient, tokens: dict[str, str], other_user: AbstractBaseUser
) -> None:
    from support import login

    bobs = login(api, "bob@example.com")
    alices = create(api, tokens["access"]).json()
    assert api.get(TOKENS, **bearer(bobs["access"])).json() == []
    assert_error(api.delete(f"{TOKENS}{alices['id']}/", **bearer(bobs["access"])), 404, "not_found")
    assert api.get(ME, **bearer(alices["token"])).status_code == 200


def test_expired_pat(api: APIClient, tokens: dict[str, str]) -> None:
    soon = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=2)
    new = create(api, tokens["access"], expires_at=soon.strftime("%Y-%m-%dT%H:%M:%SZ")).json()
    assert api.get(ME, **bearer(new["token"])).status_code == 200
    sleep_past(soon.timestamp())
    assert_error(api.get(ME, **bearer(new["token"])), 401, "pat_expired")


def test_expires_at_with_an_offset_is_normalised_to_utc(
    api: APIClient, tokens: dict[str, str]
) -> None:
    new = create(api, tokens["access"], expires_at="2099-06-01T12:00:00+02:00").json()
    assert new["expires_at"] == "2099-06-01T10:00:00Z"


@pytest.mark.parametrize(
    "body",
    [
        {"expires_at": "2001-01-01T00:00:00Z"},
        {"expires_at": "tomorrow"},
        {"expires_at": "2099-13-01T00:00:00Z"},
        {"expires_at": "2099-12-31T00:00:00"},
        {"expires_at": 4102444800},
        {"scopes": "projects:write"},
        {"scopes": [1, 2]},
        {"scopes": ["Not A Scope"]},
        {"scopes": ["tessera.unrestricted"]},
        {"name": ""},
        {"name": None},
        {"name": 7},
        {"name": "x" * 101},
        {"colour": "blue"},
        {"token": "tsr_pat_mine"},
    ],
)
def test_bad_bodies_are_validation_errors(
    api: APIClient, tokens: dict[str, str], body: dict[str, object]
) -> None:
    assert_error(create(api, tokens["access"], **body), 400, "validation_error")


def test_a_non_object_body(api: APIClient, tokens: dict[str, str]) -> None:
    response = api.post(TOKENS, ["ci"], format="json", **bearer(tokens["access"]))
    assert_error(response, 400, "validation_error")


def test_without_credentials(api: APIClient, db: None) -> None:
    assert_error(api.get(TOKENS), 401, "not_authenticated")
    assert_error(api.post(TOKENS, {"name": "x"}, format="json"), 401, "not_authenticated")
    assert_error(api.delete(f"{TOKENS}abc/"), 401, "not_authenticated")


def test_put_is_method_not_allowed(api: APIClient, tokens: dict[str, str]) -> None:
    assert_error(
        api.put(TOKENS, {}, format="json", **bearer(tokens["access"])), 405, "method_not_allowed"
    )
