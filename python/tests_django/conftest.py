"""Fixtures: a fresh token database per test, users, and API clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from rest_framework.test import APIClient
from tessera.django.engine import close_engine

from support import PASSWORD, login


@pytest.fixture(autouse=True)
def tessera_db(settings: Any, tmp_path: Path) -> Iterator[Path]:
    """Each test's own token database (changing the setting reopens the engine)."""
    path = tmp_path / "tessera.redb"
    settings.TESSERA = {**settings.TESSERA, "DATABASE_PATH": path}
    yield path
    close_engine()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db: None) -> AbstractBaseUser:
    return get_user_model().objects.create_user(
        username="alice", email="alice@example.com", password=PASSWORD
    )


@pytest.fixture
def other_user(db: None) -> AbstractBaseUser:
    return get_user_model().objects.create_user(
        username="bob", email="bob@example.com", password=PASSWORD
    )


@pytest.fixture
def tokens(api: APIClient, user: AbstractBaseUser) -> dict[str, str]:
    """A fresh login's {"access", "refresh"}."""
    return login(api, "alice@example.com")
