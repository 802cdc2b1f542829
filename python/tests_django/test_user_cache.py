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
