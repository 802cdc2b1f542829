"""PAT_MAX_LIFETIME: the longest a PAT created through the API may live."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from rest_framework.test import APIClient
from tessera.django.checks import check_settings

from support import assert_error, bearer

TOKENS = "/api/v1/me/access-tokens/"


def at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


@pytest.fixture
def max_90_days(settings: Any) -> None:
    settings.TESSERA = {**settings.TESSERA, "PAT_MAX_LIFETIME": timedelta(days=90)}


def test_by_default_a_pat_may_live_forever(api: APIClient, tokens: dict[str, str]) -> None:
    body = {"name": "ci", "expires_at": "2999-12-31T00:00:00Z"}
    created = api.post(TOKENS, body, format="json", **bearer(tokens["access"]))
    assert created.status_code == 201
    body = {"name": "forever"}
    assert (
        api.post(TOKENS, body, format="json", **bearer(tokens["access"])).json()["expires_at"]
        is None
    )


@pytest.mark.usefixtures("max_90_days")
def test_a_later_expiry_is_refused_with_the_maximum(api: APIClient, tokens: dict[str, str]) -> None:
    late = datetime.now(timezone.utc) + timedelta(days=91)
    body = {"name": "ci", "expires_at": at(late)}
    response = api.post(TOKENS, body, format="json", **bearer(tokens["access"]))
    assert_error(response, 400, "validation_error")
    message = response.json()["error"]["message"]
    assert "90 days" in message
    assert "PAT_MAX_LIFETIME" in message
    assert api.get(TOKENS, **bearer(tokens["access"])).json() == []


@pytest.mark.usefixtures("max_90_days")
def test_an_expiry_within_the_maximum_is_kept(api: APIClient, tokens: dict[str, str]) -> None:
    soon = (datetime.now(timezone.utc) + timedelta(days=89)).replace(microsecond=0)
    body = {"name": "ci", "expires_at": at(soon)}
    created = api.post(TOKENS, body, format="json", **bearer(tokens["access"]))
    assert created.status_code == 201
    assert created.json()["expires_at"] == at(soon)


@pytest.mark.usefixtures("max_90_days")
def test_no_expiry_gets_the_maximum(api: APIClient, tokens: dict[str, str]) -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    created = api.post(TOKENS, {"name": "ci"}, format="json", **bearer(tokens["access"]))
    after = datetime.now(timezone.utc)
    assert created.status_code == 201
    expires = parse(created.json()["expires_at"])
    assert before + timedelta(days=90) <= expires <= after + timedelta(days=90)
    listed = api.get(TOKENS, **bearer(tokens["access"])).json()
    assert listed[0]["expires_at"] == created.json()["expires_at"]


@pytest.mark.parametrize(
    "value", ["90 days", 0, -60, timedelta(seconds=-1), timedelta(milliseconds=500), True]
)
def test_bad_values_are_check_errors(settings: Any, value: object) -> None:
    settings.TESSERA = {**settings.TESSERA, "PAT_MAX_LIFETIME": value}
    messages = check_settings()
    assert [m.id for m in messages] == ["tessera.E003"]
    assert "PAT_MAX_LIFETIME" in messages[0].msg


@pytest.mark.parametrize("value", [None, 3600, timedelta(days=365)])
def test_good_values_pass(settings: Any, value: object) -> None:
    settings.TESSERA = {**settings.TESSERA, "PAT_MAX_LIFETIME": value}
    assert check_settings() == []


def test_manage_py_check_refuses_a_bad_value(settings: Any) -> None:
    settings.TESSERA = {**settings.TESSERA, "PAT_MAX_LIFETIME": "forever"}
    with pytest.raises(SystemCheckError, match="PAT_MAX_LIFETIME"):
        call_command("check")
