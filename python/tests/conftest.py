"""Fixtures for the tessera package tests.

Django is configured once, minimally, for the djangorestframework-simplejwt
interop tests: simplejwt signs with the same HS256 secret as the engines here.
"""

from collections.abc import Iterator
from pathlib import Path

import django
import pytest
from django.conf import settings
from support import HS256_SECRET

import tessera


def pytest_configure(config: pytest.Config) -> None:
    if settings.configured:
        return
    settings.configure(
        SECRET_KEY="tessera-python-tests-django-secret",
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "rest_framework",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        USE_TZ=True,
        SIMPLE_JWT={
            "ALGORITHM": "HS256",
            "SIGNING_KEY": HS256_SECRET,
            "USER_ID_CLAIM": "user_id",
        },
    )
    django.setup()


@pytest.fixture
def engine() -> Iterator[tessera.Engine]:
    """An in-memory HS256 engine."""
    with tessera.Engine(None, signing_key=HS256_SECRET) as e:
        yield e


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "tokens.redb"


@pytest.fixture
def file_engine(db_path: Path) -> Iterator[tessera.Engine]:
    """A durable HS256 engine in a temporary folder."""
    with tessera.Engine(db_path, signing_key=HS256_SECRET) as e:
        yield e
