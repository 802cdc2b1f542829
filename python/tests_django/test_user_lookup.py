"""The compiled user lookup: exactly what ``manager.get(field=value)`` returns."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Group
from django.db import connections
from django.db.models import Value
from tessera.django import users
from tessera.django.exceptions import TesseraAPIError
from tessera.django.users import load_user

User = get_user_model()


@pytest.fixture(autouse=True)
def fresh_lookups() -> Iterator[None]:
    users.forget_lookups()
    yield
    users.forget_lookups()


def same_row(a: Any, b: Any) -> None:
    assert type(a) is type(b)
    for field in type(a)._meta.concrete_fields:
        assert getattr(a, field.attname) == getattr(b, field.attname), field.attname
    assert (a._state.db, a._state.adding) == (b._state.db, b._state.adding)


@pytest.mark.parametrize(
    ("field", "attr"), [("pk", "pk"), ("email", "email"), ("username", "username")]
)
def test_the_compiled_lookup_returns_the_orm_row(
    user: AbstractBaseUser, django_assert_num_queries: Any, field: str, attr: str
) -> None:
    value = getattr(user, attr)
    expected = User._default_manager.get(**{field: value})
    for _ in range(2):  # the first call compiles, the second reuses it
        with django_assert_num_queries(1):
            found = users._get(User, field, value)
        same_row(found, expected)
    assert users._lookups[(User, field, "default")] is not None, "the ORM ran instead"


def test_values_are_converted_as_the_orm_converts_them(user: AbstractBaseUser) -> None:
    user.last_login = user.date_joined
    user.save()
    for _ in range(2):  # the first call finds the converters, the second reuses them
        found = users._get(User, "pk", str(user.pk))  # a string id, as in a token
        same_row(found, User._default_manager.get(pk=user.pk))
        assert found.last_login == user.date_joined  # a datetime again, not SQLite's text


@pytest.mark.django_db(transaction=True)
def test_each_threads_connection_gets_its_own_converters() -> None:
    user = User.objects.create_user("bob", "bob@example.com", "pw")
    user.last_login = user.date_joined
    user.save()
    seen: list[tuple[Any, Any]] = []

    def lookup() -> None:
        try:
            found = users._get(User, "pk", user.pk)
            seen.append((found, connections["default"]))
        finally:
            connections["default"].close()

    here = users._get(User, "pk", user.pk)
    thread = threading.Thread(target=lookup)
    thread.start()
    thread.join()
    [(there, their_connection)] = seen
    assert there.last_login == here.last_login == user.date_joined
    ours = connections["default"]
    assert their_connection is not ours
    compiled = users._lookups[(User, "pk", "default")]
    for conn in (ours, their_connection):
        compiler, _ = getattr(conn, users._CONVERTERS)[compiled]
        # Each cache holds its own connection's compiler, and lives (and
        # dies) with that connection object.
        assert compiler.connection is conn


@pytest.mark.parametrize(
    ("value", "error"),
    [("no-such-user", User.DoesNotExist), (10**6, User.DoesNotExist), ("abc", ValueError)],
)
def test_misses_raise_what_the_orm_raises(
    user: AbstractBaseUser, value: object, error: type[Exception]
) -> None:
    field = "username" if value == "no-such-user" else "pk"
    users._get(User, field, getattr(user, field))  # compiled
    with pytest.raises(error):
        users._get(User, field, value)


def test_two_rows_raise_multiple_objects_returned(db: None) -> None:
    # email is not unique: the compiled path must leave the error to the ORM.
    User.objects.create_user("a", "same@example.com", "x")
    User.objects.create_user("b", "same@example.com", "x")
    with pytest.raises(User.MultipleObjectsReturned):
        users._get(User, "email", "same@example.com")


def test_a_manager_that_annotates_is_left_to_the_orm(
    monkeypatch: pytest.MonkeyPatch, user: AbstractBaseUser
) -> None:
    manager = type(User._default_manager)
    original = manager.get_queryset
    monkeypatch.setattr(
        manager, "get_queryset", lambda self: original(self).annotate(marker=Value(7))
    )
    found = users._get(User, "pk", user.pk)
    assert users._lookups[(User, "pk", "default")] is None
    assert found.marker == 7  # type: ignore[attr-defined]
    same_row(found, User._default_manager.get(pk=user.pk))


def test_other_models_work_too(db: None) -> None:
    group = Group.objects.create(name="ops")
    same_row(users._get(Group, "name", "ops"), group)


def test_load_user_refuses_inactive_and_missing_users(user: AbstractBaseUser) -> None:
    assert load_user(user.pk).pk == user.pk
    user.is_active = False
    user.save()
    with pytest.raises(TesseraAPIError) as info:
        load_user(user.pk)
    assert info.value.code == "user_inactive"
    for missing in (10**6, "abc"):
        with pytest.raises(TesseraAPIError) as info:
            load_user(missing)
        assert info.value.code == "user_not_found"
