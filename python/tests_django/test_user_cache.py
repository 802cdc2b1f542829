"""The user cache: exact through the users' change stamps.

A request whose user is unchanged reads no user row; any save or delete
through the ORM, ``tessera_revoke_user``, :func:`tessera.django.user_changed`
and ``tessera_bump_user`` make the next request read it afresh, whichever
process made the change. (Across gunicorn workers and hosts:
test_processes.py and test_postgres_hosts.py.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import tessera.django
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from tessera.django import users
from tessera.django.engine import get_engine
from tessera.django.exceptions import TesseraAPIError
from tessera.django.users import load_user

from support import assert_error, bearer

User = get_user_model()
USER_TABLE = User._meta.db_table


@pytest.fixture
def commits(
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> Callable[[], Any]:
    """Runs the on_commit callbacks of the block, as a real commit would
    (each test runs inside a transaction that never commits)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def pat(user: AbstractBaseUser) -> str:
    return get_engine().create_pat(user.pk, "ci").token


def user_reads(api: APIClient, token: str) -> tuple[int, int]:
    """(status, queries of the user table) of one GET /api/v1/me/."""
    with CaptureQueriesContext(connection) as ctx:
        status = api.get("/api/v1/me/", **bearer(token)).status_code
    return status, sum(f'"{USER_TABLE}"' in q["sql"] for q in ctx.captured_queries)


@pytest.fixture(params=["jwt", "pat"])
def token(request: pytest.FixtureRequest, tokens: dict[str, str], pat: str) -> str:
    """An access token or a PAT of the user (each test runs with both)."""
    return tokens["access"] if request.param == "jwt" else pat


def test_an_unchanged_user_is_read_once(api: APIClient, token: str) -> None:
    assert user_reads(api, token) == (200, 1)
    for _ in range(3):
        assert user_reads(api, token) == (200, 0)


def test_a_save_in_this_process_is_seen_at_the_next_request(
    api: APIClient,
    user: AbstractBaseUser,
    token: str,
    tokens: dict[str, str],
    commits: Callable[[], Any],
) -> None:
    assert user_reads(api, token) == (200, 1)
    with commits():
        user.email = "alice@example.org"
        user.save()
    response = api.get("/api/v1/me/", **bearer(token))
    assert response.json()["email"] == "alice@example.org"
    with commits():
        user.is_active = False
        user.save(update_fields=["is_active"])
    # Deactivation also ends the user's sessions (credentials.py):
    # the JWT's session is gone; the PAT survives, and its user is read afresh.
    code = "token_revoked" if token == tokens["access"] else "user_inactive"
    assert_error(api.get("/api/v1/me/", **bearer(token)), 401, code)


def test_a_password_change_reads_the_user_afresh(
    api: APIClient, user: AbstractBaseUser, pat: str, commits: Callable[[], Any]
) -> None:
    """The new hash reaches every process: the next request reads the row.
    (Whether the change also ends sessions is the sessions rule's business.)"""
    assert user_reads(api, pat) == (200, 1)
    assert user_reads(api, pat) == (200, 0)
    with commits():
        user.set_password("a new password, long enough")
        user.save()
    assert user_reads(api, pat) == (200, 1)


def test_a_delete_is_seen_at_the_next_request(
    api: APIClient, user: AbstractBaseUser, token: str, commits: Callable[[], Any]
) -> None:
    assert user_reads(api, token) == (200, 1)
    with commits():
        user.delete()
    assert_error(api.get("/api/v1/me/", **bearer(token)), 401, "user_not_found")


def test_the_bump_waits_for_the_commit(
    api: APIClient, user: AbstractBaseUser, token: str, commits: Callable[[], Any]
) -> None:
    """Before the commit the stamp is unchanged: another process could
    otherwise cache the old row at the new stamp."""
    assert user_reads(api, token) == (200, 1)
    stamp = get_engine().bump_user(user.pk)
    with commits() as callbacks:
        user.save()
        assert get_engine().bump_user(user.pk) == stamp + 1, "bumped before the commit"
    assert len(callbacks) == 1
    assert get_engine().bump_user(user.pk) == stamp + 3


def test_a_password_change_bumps_the_stamp_once(
    api: APIClient, user: AbstractBaseUser, token: str, commits: Callable[[], Any]
) -> None:
    """Ending the sessions bumps the stamp in the same store transaction:
    the save adds no second durable write, and every process still reads
    the row afresh."""
    stamp = get_engine().bump_user(user.pk)
    with commits() as callbacks:
        user.set_password("a new password 8c1f")
        user.save()
    assert len(callbacks) == 1
    assert get_engine().bump_user(user.pk) == stamp + 2


def test_a_deactivation_bumps_the_stamp_once(
    user: AbstractBaseUser, commits: Callable[[], Any]
) -> None:
    stamp = get_engine().bump_user(user.pk)
    with commits():
        user.is_active = False
        user.save()
    assert get_engine().bump_user(user.pk) == stamp + 2


def test_a_save_reads_the_stored_row_once(
    settings: Any, user: AbstractBaseUser, commits: Callable[[], Any]
) -> None:
    """One read before the UPDATE serves both the credential check and a
    USER_ID_FIELD that is not the primary key; a save whose update_fields
    name none of them reads nothing."""
    settings.TESSERA = {**settings.TESSERA, "USER_ID_FIELD": "username"}
    with CaptureQueriesContext(connection) as ctx, commits():
        user.save()
    assert len(ctx.captured_queries) == 2, [q["sql"] for q in ctx.captured_queries]
    with CaptureQueriesContext(connection) as ctx, commits():
        user.save(update_fields=["last_login"])
    assert len(ctx.captured_queries) == 1, [q["sql"] for q in ctx.captured_queries]


def test_a_save_of_an_instance_built_with_its_pk_bumps_the_old_id(
    settings: Any, api: APIClient, user: AbstractBaseUser, commits: Callable[[], Any]
) -> None:
    """Such a save (as loaddata's) overwrites the row though Django counts
    it as an insert: the old USER_ID_FIELD value is still bumped."""
    settings.TESSERA = {**settings.TESSERA, "USER_ID_FIELD": "username"}
    pat = get_engine().create_pat("alice", "ci").token
    assert user_reads(api, pat) == (200, 1)
    rebuilt = get_user_model()(
        pk=user.pk, username="alice2", email=user.email, password=user.password
    )
    with commits():
        rebuilt.save()
    assert_error(api.get("/api/v1/me/", **bearer(pat)), 401, "user_not_found")


def test_a_new_user_id_and_password_at_once(
    settings: Any, api: APIClient, user: AbstractBaseUser, commits: Callable[[], Any]
) -> None:
    """The sessions end and the old USER_ID_FIELD value is bumped too."""
    settings.TESSERA = {**settings.TESSERA, "USER_ID_FIELD": "username"}
    pat = get_engine().create_pat("alice", "ci").token
    assert user_reads(api, pat) == (200, 1)
    old = get_engine().bump_user("alice")
    with commits():
        user.username = "alice2"
        user.set_password("a new password 8c1f")
        user.save()
    assert get_engine().bump_user("alice") == old + 2
    assert_error(api.get("/api/v1/me/", **bearer(pat)), 401, "user_not_found")


def test_update_is_not_seen_until_user_changed(
    api: APIClient, user: AbstractBaseUser, token: str
) -> None:
    """QuerySet.update() sends no signal: the documented gap, and its fix."""
    assert user_reads(api, token) == (200, 1)
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert user_reads(api, token) == (200, 0)  # the cached row, as documented
    assert tessera.django.user_changed(user.pk) >= 1
    assert_error(api.get("/api/v1/me/", **bearer(token)), 401, "user_inactive")


def test_user_changed_takes_a_user(api: APIClient, user: AbstractBaseUser, pat: str) -> None:
    assert user_reads(api, pat) == (200, 1)
    User.objects.filter(pk=user.pk).update(is_active=False)
    tessera.django.user_changed(user)
    assert_error(api.get("/api/v1/me/", **bearer(pat)), 401, "user_inactive")


BUMP_ELSEWHERE = """
import sys, tessera
with tessera.Engine(sys.argv[1], signing_key="another-process-key" * 3, multi_process=True) as e:
    print(e.bump_user(sys.argv[2]))
"""


def test_a_bump_in_another_process_is_seen_at_the_next_request(
    api: APIClient, user: AbstractBaseUser, token: str, tessera_db: Path
) -> None:
    assert user_reads(api, token) == (200, 1)
    User.objects.filter(pk=user.pk).update(is_active=False)
    subprocess.run(
        [sys.executable, "-c", BUMP_ELSEWHERE, str(tessera_db), str(user.pk)],
        check=True,
        timeout=60,
        capture_output=True,
    )
    assert_error(api.get("/api/v1/me/", **bearer(token)), 401, "user_inactive")


def test_tessera_revoke_user_bumps_the_stamp(
    api: APIClient, user: AbstractBaseUser, pat: str
) -> None:
    """Without --pats the PAT survives the logout; its user is read afresh."""
    assert user_reads(api, pat) == (200, 1)
    User.objects.filter(pk=user.pk).update(is_active=False)
    call_command("tessera_revoke_user", str(user.pk), stdout=StringIO())
    assert_error(api.get("/api/v1/me/", **bearer(pat)), 401, "user_inactive")


def test_tessera_bump_user_command(api: APIClient, user: AbstractBaseUser, pat: str) -> None:
    assert user_reads(api, pat) == (200, 1)
    User.objects.filter(pk=user.pk).update(is_active=False)
    out = StringIO()
    call_command("tessera_bump_user", f"0{user.pk}", stdout=out)
    assert out.getvalue() == f"User {user.pk}: change stamp 1.\n"
    assert_error(api.get("/api/v1/me/", **bearer(pat)), 401, "user_inactive")


def test_tessera_bump_user_bumps_an_id_without_a_row(
    api: APIClient, user: AbstractBaseUser, pat: str
) -> None:
    """A row deleted with raw SQL: the id is bumped as given."""
    assert user_reads(api, pat) == (200, 1)
    with connection.cursor() as cursor:
        cursor.execute(f'DELETE FROM "{USER_TABLE}" WHERE id = %s', [user.pk])
    out = StringIO()
    call_command("tessera_bump_user", str(user.pk), stdout=out)
    assert "no auth.User has pk" in out.getvalue()
    assert_error(api.get("/api/v1/me/", **bearer(pat)), 401, "user_not_found")


def test_a_new_user_id_field_value_bumps_the_old_one(
    settings: Any, api: APIClient, user: AbstractBaseUser, commits: Callable[[], Any]
) -> None:
    """Tokens carry the old value of USER_ID_FIELD: it is bumped too."""
    settings.TESSERA = {**settings.TESSERA, "USER_ID_FIELD": "username"}
    pat = get_engine().create_pat("alice", "ci").token
    assert user_reads(api, pat) == (200, 1)
    with commits():
        user.username = "alice2"
        user.save()
    assert_error(api.get("/api/v1/me/", **bearer(pat)), 401, "user_not_found")


def test_size_zero_turns_the_cache_off(settings: Any, api: APIClient, token: str) -> None:
    settings.TESSERA = {**settings.TESSERA, "USER_CACHE_SIZE": 0}
    for _ in range(3):
        assert user_reads(api, token) == (200, 1)


def test_the_cache_is_bounded_least_recently_used_first(
    settings: Any, user: AbstractBaseUser, other_user: AbstractBaseUser
) -> None:
    settings.TESSERA = {**settings.TESSERA, "USER_CACHE_SIZE": 1}

    def reads(pk: Any) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert load_user(pk, 0).pk == pk
        return len(ctx.captured_queries)

    assert [reads(user.pk), reads(user.pk)] == [1, 0]
    assert [reads(other_user.pk), reads(user.pk), reads(user.pk)] == [1, 1, 0]
    settings.TESSERA = {**settings.TESSERA, "USER_CACHE_SIZE": 2}
    reads(user.pk)
    reads(other_user.pk)
    assert [reads(user.pk), reads(other_user.pk)] == [0, 0]


def test_a_stamp_that_moved_reads_the_row(user: AbstractBaseUser) -> None:
    load_user(user.pk, 3)
    with CaptureQueriesContext(connection) as ctx:
        load_user(user.pk, 4)
        load_user(user.pk, 4)
    assert len(ctx.captured_queries) == 1


def test_callers_without_a_stamp_always_read(user: AbstractBaseUser) -> None:
    load_user(user.pk, 0)
    with CaptureQueriesContext(connection) as ctx:
        load_user(user.pk)
    assert len(ctx.captured_queries) == 1


def test_inactive_users_are_not_cached(user: AbstractBaseUser) -> None:
    User.objects.filter(pk=user.pk).update(is_active=False)
    for _ in range(2):
        with CaptureQueriesContext(connection) as ctx, pytest.raises(TesseraAPIError) as info:
            load_user(user.pk, 0)
        assert (info.value.code, len(ctx.captured_queries)) == ("user_inactive", 1)


def test_a_forked_child_starts_with_an_empty_cache(user: AbstractBaseUser) -> None:
    load_user(user.pk, 0)
    assert users._cache
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, and leave without running pytest's exit
        os.close(read_end)
        os.write(write_end, b"empty" if not users._cache else b"inherited")
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as r:
        report = r.read()
    os.waitpid(pid, 0)
    assert report == b"empty"
    assert users._cache, "the parent keeps its own"


def test_what_a_request_does_to_its_user_stays_in_that_request(user: AbstractBaseUser) -> None:
    first = load_user(user.pk, 0)  # read from the database, and cached
    first.first_name = "changed"
    first.backend = "somewhere"  # type: ignore[attr-defined]
    first._state.fields_cache["related"] = object()
    second = load_user(user.pk, 0)  # from the cache
    assert second is not first
    second.last_name = "changed too"
    third = load_user(user.pk, 0)
    assert (third.first_name, third.last_name) == (user.first_name, user.last_name)
    assert not hasattr(third, "backend")
    assert "related" not in third._state.fields_cache
    assert third._state.db == "default"
    assert not third._state.adding


def test_a_user_that_cannot_be_pickled_is_served_but_not_cached(
    user: AbstractBaseUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: object) -> object:
        raise TypeError("not picklable")

    monkeypatch.setattr(type(user), "__getstate__", refuse)
    for _ in range(2):
        with CaptureQueriesContext(connection) as ctx:
            assert load_user(user.pk, 0).pk == user.pk
        assert len(ctx.captured_queries) == 1


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    users.forget_users()
    yield
    users.forget_users()
