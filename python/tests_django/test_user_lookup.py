"""The user lookup: what the user model's default manager returns for
``USER_ID_FIELD``, refused when missing or inactive."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import Value
from rest_framework.test import APIClient
from tessera.django.engine import get_engine
from tessera.django.exceptions import TesseraAPIError
from tessera.django.users import load_user

from support import assert_error, bearer

User = get_user_model()


def same_row(a: Any, b: Any) -> None:
    assert type(a) is type(b)
    for field in type(a)._meta.concrete_fields:
        assert getattr(a, field.attname) == getattr(b, field.attname), field.attname
    assert (a._state.db, a._state.adding) == (b._state.db, b._state.adding)


def user_id_field(settings: Any, field: str) -> None:
    settings.TESSERA = {**settings.TESSERA, "USER_ID_FIELD": field}


@pytest.mark.parametrize(
    ("field", "attr"), [("pk", "pk"), ("email", "email"), ("username", "username")]
)
def test_each_user_id_field_finds_the_managers_row(
    settings: Any, user: AbstractBaseUser, django_assert_num_queries: Any, field: str, attr: str
) -> None:
    user_id_field(settings, field)
    value = getattr(user, attr)
    expected = User._default_manager.get(**{field: value})
    with django_assert_num_queries(1):
        found = load_user(value)
    same_row(found, expected)


def test_values_are_converted_as_the_orm_converts_them(user: AbstractBaseUser) -> None:
    user.last_login = user.date_joined
    user.save()
    found = load_user(str(user.pk))  # a string id, as in a token
    same_row(found, User._default_manager.get(pk=user.pk))
    assert found.last_login == user.date_joined  # a datetime again, not SQLite's text


@pytest.mark.parametrize(("field", "value"), [("username", "no-such-user"), ("pk", 10**6)])
def test_a_missing_user_is_user_not_found(
    settings: Any, user: AbstractBaseUser, field: str, value: object
) -> None:
    user_id_field(settings, field)
    with pytest.raises(TesseraAPIError) as info:
        load_user(value)
    assert info.value.code == "user_not_found"


@pytest.mark.parametrize("value", ["abc", "", None, [1], {"pk": 1}])
def test_a_value_the_field_cannot_hold_is_user_not_found(
    user: AbstractBaseUser, value: object
) -> None:
    with pytest.raises(TesseraAPIError) as info:
        load_user(value)
    assert info.value.code == "user_not_found"


def test_two_rows_are_never_taken_for_one_user(settings: Any, db: None) -> None:
    # email is not unique: the lookup must not pick one of the two.
    user_id_field(settings, "email")
    User.objects.create_user("a", "same@example.com", "x")
    User.objects.create_user("b", "same@example.com", "x")
    with pytest.raises(User.MultipleObjectsReturned):
        load_user("same@example.com")


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


@pytest.mark.parametrize("size", [0, 10_000])
def test_the_default_managers_annotations_reach_the_user(
    settings: Any, monkeypatch: pytest.MonkeyPatch, user: AbstractBaseUser, size: int
) -> None:
    settings.TESSERA = {**settings.TESSERA, "USER_CACHE_SIZE": size}
    manager = type(User._default_manager)
    original = manager.get_queryset
    monkeypatch.setattr(
        manager, "get_queryset", lambda self: original(self).annotate(marker=Value(7))
    )
    for _ in range(2):  # with the cache on, the second comes from it
        found = load_user(user.pk, 0)
        assert found.marker == 7  # type: ignore[attr-defined]
        same_row(found, User._default_manager.get(pk=user.pk))


@pytest.mark.parametrize("size", [0, 10_000])
def test_a_custom_default_managers_filter_applies(
    settings: Any, db: None, api: APIClient, size: int
) -> None:
    shown = User.objects.create_user("carol", "carol@example.com", "pw")
    hidden = User.objects.create_user("hidden-dave", "dave@example.com", "pw")
    # A proxy of User whose default manager hides ``hidden-*`` (auth.User's
    # own managers are unavailable from here on).
    settings.AUTH_USER_MODEL = "custom_users.VisibleUser"
    settings.TESSERA = {**settings.TESSERA, "USER_CACHE_SIZE": size}
    model = get_user_model()
    assert model._meta.label == "custom_users.VisibleUser"
    assert type(load_user(shown.pk, 0)) is model

    # The row exists and is active, but the site's manager does not show it.
    for _ in range(2):
        with pytest.raises(TesseraAPIError) as info:
            load_user(hidden.pk, 0)
        assert info.value.code == "user_not_found"

    engine = get_engine()
    response = api.get("/api/v1/me/", **bearer(engine.create_pat(shown.pk, "ci").token))
    assert response.status_code == 200, response.content
    assert response.json()["username"] == "carol"
    hidden_pat = engine.create_pat(hidden.pk, "ci").token
    assert_error(api.get("/api/v1/me/", **bearer(hidden_pat)), 401, "user_not_found")

    # Once the manager shows the user again, so does Tessera.
    model._base_manager.filter(pk=hidden.pk).update(username="dave")
    assert api.get("/api/v1/me/", **bearer(hidden_pat)).status_code == 200
