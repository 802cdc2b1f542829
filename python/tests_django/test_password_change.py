"""A password change, through any path, ends the user's other token sessions;
so does deactivating the account. PATs survive unless the site asks."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.tokens import default_token_generator
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.test import APIClient
from tessera.django import keep_token_session
from tessera.django.engine import get_engine

from support import PASSWORD, assert_error, bearer, login

# Real commits: the sessions end in transaction.on_commit, which a test
# wrapped in a transaction that never commits would never reach.
pytestmark = pytest.mark.django_db(transaction=True)

REFRESH = "/api/v1/auth/refresh/"
ME = "/api/v1/me/"
TOKENS = "/api/v1/me/access-tokens/"
NEW_PASSWORD = "a brand new passphrase 42"


def refresh(api: APIClient, token: str) -> Any:
    return api.post(REFRESH, {"refresh": token}, format="json")


def assert_session_ended(api: APIClient, tokens: dict[str, str]) -> None:
    """Both tokens of the session are refused: the copy of the refresh token
    a thief kept, and the access token already issued."""
    assert_error(api.get(ME, **bearer(tokens["access"])), 401, "token_revoked")
    assert_error(refresh(api, tokens["refresh"]), 401, "token_revoked")


def assert_session_alive(api: APIClient, tokens: dict[str, str]) -> None:
    assert api.get(ME, **bearer(tokens["access"])).status_code == 200
    assert refresh(api, tokens["refresh"]).status_code == 200


@pytest.fixture
def pat(api: APIClient, tokens: dict[str, str]) -> str:
    response = api.post(TOKENS, {"name": "ci"}, format="json", **bearer(tokens["access"]))
    assert response.status_code == 201
    return str(response.json()["token"])


def test_set_password_and_save_ends_every_session(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str]
) -> None:
    other = login(api, "alice@example.com")
    user.set_password(NEW_PASSWORD)
    user.save()
    assert_session_ended(api, tokens)
    assert_session_ended(api, other)
    # The new password logs in; the old one no longer does.
    assert_session_alive(api, login(api, "alice@example.com", NEW_PASSWORD))


def test_another_users_sessions_are_left_alone(
    api: APIClient, user: AbstractBaseUser, other_user: AbstractBaseUser, tokens: dict[str, str]
) -> None:
    bobs = login(api, "bob@example.com")
    other_user.set_password(NEW_PASSWORD)
    other_user.save()
    assert_session_ended(api, bobs)
    assert_session_alive(api, tokens)


def test_pats_survive_a_password_change_by_default(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str], pat: str
) -> None:
    user.set_password(NEW_PASSWORD)
    user.save()
    assert api.get(ME, **bearer(pat)).status_code == 200
    assert_session_ended(api, tokens)


def test_pats_are_revoked_when_the_site_asks(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str], pat: str, settings: Any
) -> None:
    settings.TESSERA = {**settings.TESSERA, "REVOKE_PATS_ON_PASSWORD_CHANGE": True}
    user.set_password(NEW_PASSWORD)
    user.save()
    assert_error(api.get(ME, **bearer(pat)), 401, "pat_revoked")
    assert_session_ended(api, tokens)


def test_the_setting_can_turn_it_off(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str], settings: Any
) -> None:
    settings.TESSERA = {**settings.TESSERA, "REVOKE_ON_PASSWORD_CHANGE": False}
    user.set_password(NEW_PASSWORD)
    user.save()
    assert_session_alive(api, tokens)


def test_a_save_that_keeps_the_password_ends_nothing(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str]
) -> None:
    user.first_name = "Alice"
    user.save()
    get_user_model().objects.get(pk=user.pk).save()
    assert_session_alive(api, tokens)


def test_a_save_of_other_fields_reads_nothing_more(user: AbstractBaseUser) -> None:
    """update_fields without the password or is_active (as Django's own
    update_last_login): no query beyond the UPDATE itself."""
    with CaptureQueriesContext(connection) as queries:
        user.save(update_fields=["last_login"])
    assert len(queries) == 1, [q["sql"] for q in queries]
    with CaptureQueriesContext(connection) as queries:
        user.save()
    assert len(queries) == 2, [q["sql"] for q in queries]


def test_the_sessions_end_only_once_the_change_commits(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str]
) -> None:
    def change_then_fail() -> None:
        with transaction.atomic():
            user.set_password(NEW_PASSWORD)
            user.save()
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        change_then_fail()
    assert_session_alive(api, tokens)


def test_inside_a_transaction_the_sessions_end_at_commit(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str]
) -> None:
    with transaction.atomic():
        user.set_password(NEW_PASSWORD)
        user.save()
        assert api.get(ME, **bearer(tokens["access"])).status_code == 200
    assert_session_ended(api, tokens)


def test_the_request_that_changes_the_password_keeps_its_session(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str]
) -> None:
    other = login(api, "alice@example.com")
    response = api.post(
        "/host/password/", {"password": NEW_PASSWORD}, format="json", **bearer(tokens["access"])
    )
    assert response.status_code == 204
    assert_session_ended(api, other)
    assert_session_alive(api, tokens)


def test_keeping_a_session_needs_an_access_token(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str], pat: str
) -> None:
    # A PAT names no session: every session ends.
    response = api.post("/host/password/", {"password": NEW_PASSWORD}, format="json", **bearer(pat))
    assert response.status_code == 204
    assert_session_ended(api, tokens)


def test_keep_token_session_keeps_only_its_users_session(
    api: APIClient, user: AbstractBaseUser, other_user: AbstractBaseUser, tokens: dict[str, str]
) -> None:
    """Alice's request changing Bob's password keeps none of Bob's sessions."""
    bobs = login(api, "bob@example.com")
    request = APIClient().get(ME, **bearer(tokens["access"])).wsgi_request
    with keep_token_session(request):
        other_user.set_password(NEW_PASSWORD)
        other_user.save()
    assert_session_ended(api, bobs)
    assert_session_alive(api, tokens)


def test_keep_token_session_is_undone_on_exit(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str]
) -> None:
    request = APIClient().get(ME, **bearer(tokens["access"])).wsgi_request
    with keep_token_session(request):
        pass
    user.set_password(NEW_PASSWORD)
    user.save()
    assert_session_ended(api, tokens)


def test_deactivation_ends_every_session(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str], pat: str
) -> None:
    request = APIClient().get(ME, **bearer(tokens["access"])).wsgi_request
    with keep_token_session(request):
        user.is_active = False
        user.save()
    user.is_active = True
    user.save()
    # Not even the session of the request that deactivated it is kept.
    assert_session_ended(api, tokens)
    # PATs were refused while the user was inactive; reactivated, they work again.
    assert api.get(ME, **bearer(pat)).status_code == 200


def test_the_admin_password_form(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str]
) -> None:
    admin = get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    client = Client()
    client.force_login(admin)
    response = client.post(
        f"/admin/auth/user/{user.pk}/password/",
        {"usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302, response.content
    assert_session_ended(api, tokens)


def test_djangos_password_change_view(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str]
) -> None:
    client = Client()
    client.force_login(user)
    response = client.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302, response.content
    assert response["Location"] == "/accounts/password_change/done/"
    assert_session_ended(api, tokens)


def test_djangos_password_reset_flow(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str]
) -> None:
    client = Client()
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    # The link of the reset email: it redirects to a URL without the token.
    response = client.get(f"/accounts/reset/{uid}/{default_token_generator.make_token(user)}/")
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/reset/{uid}/set-password/"
    response = client.post(
        response["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 302, response.content
    assert response["Location"] == "/accounts/reset/done/"
    assert_session_ended(api, tokens)


def test_manage_py_changepassword(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str], monkeypatch: Any
) -> None:
    # The command asks twice through getpass.
    monkeypatch.setattr("getpass.getpass", lambda prompt="": NEW_PASSWORD)
    out = io.StringIO()
    call_command("changepassword", "alice", stdout=out)
    assert "Password changed successfully" in out.getvalue()
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert_session_ended(api, tokens)


def test_the_engine_events_name_the_user(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str]
) -> None:
    from tessera.django import signals

    seen: list[tuple[str, Any]] = []

    def on_event(sender: Any, event: Any, user_id: Any, **kwargs: Any) -> None:
        seen.append((event.kind, user_id))

    signals.token_event.connect(on_event)
    try:
        user.set_password(NEW_PASSWORD)
        user.save()
    finally:
        signals.token_event.disconnect(on_event)
    assert ("logout_all", str(user.pk)) in seen
    assert get_engine().sessions(user.pk) == []


def test_a_rehash_at_reauthentication_keeps_the_requests_session(
    api: APIClient, user: AbstractBaseUser, tokens: dict[str, str], settings: Any
) -> None:
    """A hasher upgrade rehashes the password when it is next checked: a
    new hash, so the other sessions end, but never the session that is
    reauthenticating."""
    other = login(api, "alice@example.com")
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
        "hashers.CountingHasher",
    ]
    response = api.post(
        "/api/v1/auth/reauthenticate/",
        {"password": PASSWORD},
        format="json",
        **bearer(tokens["access"]),
    )
    assert response.status_code == 200, response.content
    user.refresh_from_db()
    assert user.password.startswith("pbkdf2_sha1$")
    assert_session_alive(api, response.json())
    assert_session_ended(api, other)
