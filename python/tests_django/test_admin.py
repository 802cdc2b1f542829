"""The user change page in the Django admin: Tessera's sessions and PATs,
and the actions that end them, for staff with and without the permission."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Permission
from django.test import Client
from rest_framework.test import APIClient
from tessera.django.engine import get_engine

from support import PASSWORD, assert_error, bearer

ME = "/api/v1/me/"
TOKENS = "/api/v1/me/access-tokens/"


def change_url(user: AbstractBaseUser) -> str:
    return f"/admin/auth/user/{user.pk}/change/"


def staff(username: str, *perms: str) -> Client:
    member = get_user_model().objects.create_user(
        username=username, email=f"{username}@example.com", password=PASSWORD, is_staff=True
    )
    member.user_permissions.set(
        Permission.objects.filter(content_type__app_label="auth", codename__in=perms)
    )
    client = Client()
    client.force_login(member)
    return client


@pytest.fixture
def editor(db: None) -> Client:
    return staff("editor", "view_user", "change_user")


@pytest.fixture
def viewer(db: None) -> Client:
    return staff("viewer", "view_user")


@pytest.fixture
def alice_pat(api: APIClient, tokens: dict[str, str]) -> dict[str, Any]:
    body = {"name": "ci-sync", "scopes": ["portfolio:read"]}
    response = api.post(TOKENS, body, format="json", **bearer(tokens["access"]))
    assert response.status_code == 201
    return response.json()


def sid(access: str) -> str:
    return str(get_engine().verify_access(access)["sid"])


def test_the_change_page_lists_sessions_and_pats_never_tokens(
    editor: Client, user: AbstractBaseUser, tokens: dict[str, str], alice_pat: dict[str, Any]
) -> None:
    page = editor.get(change_url(user))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="tessera-sessions"' in html
    assert html.count('class="tessera-session"') == 1
    assert html.count('class="tessera-pat"') == 1
    assert "ci-sync" in html
    assert alice_pat["prefix"] in html
    assert "portfolio:read" in html
    # No token, no part of a token's secret beyond the display prefix.
    for secret in (tokens["access"], tokens["refresh"], alice_pat["token"]):
        assert secret not in html
    assert alice_pat["token"][: len(alice_pat["prefix"]) + 1] not in html
    assert tokens["refresh"].split(".")[1] not in html
    assert "End this session" in html
    assert "Revoke" in html
    # The wrapped UserAdmin's own form is still there.
    assert 'name="username"' in html


def test_end_one_session(
    api: APIClient,
    editor: Client,
    user: AbstractBaseUser,
    tokens: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    other = api.post(
        "/api/v1/auth/login/email/",
        {"email": "alice@example.com", "password": PASSWORD},
        format="json",
    ).json()["tokens"]
    ended = sid(tokens["access"])
    url = f"/admin/auth/user/{user.pk}/tessera/sessions/{ended}/end/"
    with caplog.at_level(logging.INFO, logger="tessera"):
        response = editor.post(url)
    assert response.status_code == 302
    assert response["Location"] == change_url(user)
    assert_error(api.get(ME, **bearer(tokens["access"])), 401, "token_revoked")
    assert api.get(ME, **bearer(other["access"])).status_code == 200
    # Recorded: the engine's audit event, and the admin's history.
    events = [r.tessera for r in caplog.records if hasattr(r, "tessera")]
    assert [e["event"] for e in events] == ["logout"]
    assert events[0]["family_id"] == ended
    assert events[0]["user_id"] == str(user.pk)
    entry = LogEntry.objects.get(object_id=str(user.pk))
    assert "Ended Tessera session" in entry.get_change_message()
    assert entry.user.get_username() == "editor"


def test_end_every_session(
    api: APIClient, editor: Client, user: AbstractBaseUser, tokens: dict[str, str]
) -> None:
    response = editor.post(f"/admin/auth/user/{user.pk}/tessera/sessions/end-all/")
    assert response.status_code == 302
    assert_error(api.get(ME, **bearer(tokens["access"])), 401, "token_revoked")
    assert get_engine().sessions(user.pk) == []
    assert "Ended every Tessera session" in LogEntry.objects.get().get_change_message()


def test_revoke_a_pat(
    api: APIClient,
    editor: Client,
    user: AbstractBaseUser,
    tokens: dict[str, str],
    alice_pat: dict[str, Any],
) -> None:
    response = editor.post(f"/admin/auth/user/{user.pk}/tessera/pats/{alice_pat['id']}/revoke/")
    assert response.status_code == 302
    assert_error(api.get(ME, **bearer(alice_pat["token"])), 401, "pat_revoked")
    # The sessions are untouched.
    assert api.get(ME, **bearer(tokens["access"])).status_code == 200
    message = LogEntry.objects.get().get_change_message()
    assert "ci-sync" in message
    assert alice_pat["token"] not in message


def test_the_actions_need_post(editor: Client, user: AbstractBaseUser) -> None:
    assert editor.get(f"/admin/auth/user/{user.pk}/tessera/sessions/end-all/").status_code == 405


def test_an_unknown_session_or_pat_changes_nothing(
    api: APIClient, editor: Client, user: AbstractBaseUser, tokens: dict[str, str]
) -> None:
    base = f"/admin/auth/user/{user.pk}/tessera/"
    assert editor.post(base + "sessions/" + "0" * 32 + "/end/").status_code == 302
    assert editor.post(base + "sessions/not-hex/end/").status_code == 404
    assert editor.post(base + "pats/" + "0" * 32 + "/revoke/").status_code == 302
    assert api.get(ME, **bearer(tokens["access"])).status_code == 200
    assert not LogEntry.objects.exists()


def test_a_session_of_another_user_cannot_be_ended_through_this_one(
    api: APIClient,
    editor: Client,
    user: AbstractBaseUser,
    other_user: AbstractBaseUser,
    tokens: dict[str, str],
) -> None:
    url = f"/admin/auth/user/{other_user.pk}/tessera/sessions/{sid(tokens['access'])}/end/"
    assert editor.post(url).status_code == 302
    assert api.get(ME, **bearer(tokens["access"])).status_code == 200


def test_staff_with_view_permission_only_sees_but_cannot_act(
    api: APIClient,
    viewer: Client,
    user: AbstractBaseUser,
    tokens: dict[str, str],
    alice_pat: dict[str, Any],
) -> None:
    page = viewer.get(change_url(user))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('class="tessera-session"') == 1
    assert "ci-sync" in html
    assert "End this session" not in html
    assert "Revoke" not in html

    base = f"/admin/auth/user/{user.pk}/tessera/"
    assert viewer.post(base + "sessions/end-all/").status_code == 403
    assert viewer.post(base + f"sessions/{sid(tokens['access'])}/end/").status_code == 403
    assert viewer.post(base + f"pats/{alice_pat['id']}/revoke/").status_code == 403
    assert api.get(ME, **bearer(tokens["access"])).status_code == 200
    assert api.get(ME, **bearer(alice_pat["token"])).status_code == 200


def test_staff_without_permissions_is_refused(
    user: AbstractBaseUser, tokens: dict[str, str], api: APIClient
) -> None:
    nobody = staff("nobody")
    assert nobody.get(change_url(user)).status_code == 403
    assert nobody.post(f"/admin/auth/user/{user.pk}/tessera/sessions/end-all/").status_code == 403
    assert api.get(ME, **bearer(tokens["access"])).status_code == 200


def sign_out_everywhere(client: Client, *users: AbstractBaseUser) -> Any:
    return client.post(
        "/admin/auth/user/",
        {"action": "tessera_sign_out_everywhere", "_selected_action": [u.pk for u in users]},
    )


def test_sign_out_everywhere_from_the_user_list(
    api: APIClient,
    editor: Client,
    user: AbstractBaseUser,
    other_user: AbstractBaseUser,
    tokens: dict[str, str],
) -> None:
    bobs = api.post(
        "/api/v1/auth/login/email/",
        {"email": "bob@example.com", "password": PASSWORD},
        format="json",
    ).json()["tokens"]
    assert "Sign out everywhere" in editor.get("/admin/auth/user/").content.decode()
    response = sign_out_everywhere(editor, user, other_user)
    assert response.status_code == 302
    assert_error(api.get(ME, **bearer(tokens["access"])), 401, "token_revoked")
    assert_error(api.get(ME, **bearer(bobs["access"])), 401, "token_revoked")
    assert LogEntry.objects.count() == 2


def test_sign_out_everywhere_needs_the_change_permission(
    api: APIClient, viewer: Client, user: AbstractBaseUser, tokens: dict[str, str]
) -> None:
    assert "Sign out everywhere" not in viewer.get("/admin/auth/user/").content.decode()
    sign_out_everywhere(viewer, user)
    assert api.get(ME, **bearer(tokens["access"])).status_code == 200
    assert not LogEntry.objects.exists()


def test_the_user_admin_keeps_its_class_and_actions(settings: Any) -> None:
    from django.contrib import admin
    from django.contrib.auth.admin import UserAdmin
    from tessera.django.admin import TesseraUserAdminMixin

    registered = admin.site.get_model_admin(get_user_model())
    assert isinstance(registered, UserAdmin)
    assert isinstance(registered, TesseraUserAdminMixin)
    assert "tessera_sign_out_everywhere" in registered.actions


@pytest.mark.django_db
def test_the_demo_prints_a_staff_user_that_can_use_the_admin(settings: Any) -> None:
    import re
    from io import StringIO

    from django.core.management import call_command

    settings.ROOT_URLCONF = "portfolio_site.urls"
    out = StringIO()
    call_command("portfolio_demo", "--base-url", "http://testserver", stdout=out)
    text = out.getvalue()
    found = re.search(r"Admin: http://testserver(\S+)  \(staff user (\S+) / (\S+);", text)
    assert found is not None, text
    admin_path, username, password = found.groups()
    docs = re.search(r"API docs: http://testserver(\S+) ", text)
    assert docs is not None

    client = Client()
    login = client.post(
        admin_path + "login/", {"username": username, "password": password, "next": admin_path}
    )
    assert login.status_code == 302
    assert client.get(admin_path).status_code == 200
    demo = get_user_model().objects.get(email="demo@example.com")
    page = client.get(change_url(demo))
    assert page.status_code == 200
    assert "demo-cli" in page.content.decode()
    assert client.get(docs.group(1)).status_code == 200


def test_a_user_admin_without_the_section_is_a_check_warning(db: None) -> None:
    from django.contrib import admin
    from django.contrib.auth.admin import UserAdmin
    from tessera.django.admin import check_user_admin

    model = get_user_model()
    assert check_user_admin() == []
    wrapped = type(admin.site.get_model_admin(model))
    admin.site.unregister(model)
    admin.site.register(model, UserAdmin)
    try:
        assert [m.id for m in check_user_admin()] == ["tessera.W003"]
    finally:
        admin.site.unregister(model)
        admin.site.register(model, wrapped)
    assert check_user_admin() == []
