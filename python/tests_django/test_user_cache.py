"""USER_CACHE_TTL: the user row reused for a while, invalidated on save and delete."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.base_user import AbstractBaseUser
from rest_framework.test import APIClient
from tessera.django.engine import get_engine
from tessera.django.users import load_user

from support import assert_error, bearer


@pytest.fixture
def cached(settings: Any) -> None:
    settings.TESSERA = {**settings.TESSERA, "USER_CACHE_TTL": 30}


def test_off_by_default_every_request_reads_the_user(
    user: AbstractBaseUser, django_assert_num_queries: Any
) -> None:
    load_user(user.pk)
    with django_assert_num_queries(1):
        load_user(user.pk)


def test_cached_lookups_skip_the_database(
    cached: None, user: AbstractBaseUser, django_assert_num_queries: Any
) -> None:
    first = load_user(user.pk)
    with django_assert_num_queries(0):
        second = load_user(user.pk)
    assert second.pk == user.pk
    assert second.email == user.email
    assert second is not first  # each request gets its own instance


def test_deactivation_in_this_process_applies_at_once(
    cached: None, api: APIClient, user: AbstractBaseUser
) -> None:
    pat = get_engine().create_pat(user.pk, "ci")
    assert api.get("/api/v1/me/", **bearer(pat.token)).status_code == 200
    user.is_active = False
    user.save()
    assert_error(api.get("/api/v1/me/", **bearer(pat.token)), 401, "user_inactive")


def test_deletion_in_this_process_applies_at_once(
    cached: None, api: APIClient, user: AbstractBaseUser
) -> None:
    pat = get_engine().create_pat(user.pk, "ci")
    assert api.get("/api/v1/me/", **bearer(pat.token)).status_code == 200
    user.delete()
    assert_error(api.get("/api/v1/me/", **bearer(pat.token)), 401, "user_not_found")


def test_what_a_request_does_to_its_user_stays_in_that_request(
    cached: None, user: AbstractBaseUser
) -> None:
    first = load_user(user.pk)  # read from the database, and cached
    first.first_name = "changed"
    first.backend = "somewhere"  # type: ignore[attr-defined]
    first._state.fields_cache["related"] = object()
    second = load_user(user.pk)  # from the cache
    second.last_name = "changed too"
    third = load_user(user.pk)
    assert (third.first_name, third.last_name) == (user.first_name, user.last_name)
    assert not hasattr(third, "backend")
    assert "related" not in third._state.fields_cache
    assert third._state.db == "default"
    assert not third._state.adding


def test_a_user_that_cannot_be_pickled_is_served_but_not_cached(
    cached: None,
    user: AbstractBaseUser,
    monkeypatch: pytest.MonkeyPatch,
    django_assert_num_queries: Any,
) -> None:
    def refuse(self: object) -> object:
        raise TypeError("not picklable")

    monkeypatch.setattr(type(user), "__getstate__", refuse)
    for _ in range(2):
        with django_assert_num_queries(1):
            assert load_user(user.pk).pk == user.pk
