"""Audit events: Django signals and `tessera` log records, never a token."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import tessera
from django.contrib.auth.base_user import AbstractBaseUser
from rest_framework.test import APIClient
from tessera.django import signals
from tessera.django.engine import get_engine

from support import PASSWORD, bearer, login


@pytest.fixture
def received() -> Iterator[list[dict[str, Any]]]:
    events: list[dict[str, Any]] = []

    def receiver(sender: object, **kwargs: Any) -> None:
        events.append({"sender": sender, **kwargs})

    signals.token_event.connect(receiver)
    yield events
    signals.token_event.disconnect(receiver)


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["event"].kind for e in events]


def test_the_lifecycle_sends_every_kind(
    api: APIClient, user: AbstractBaseUser, received: list[dict[str, Any]], settings: Any
) -> None:
    pair = login(api, "alice@example.com")
    rotated = api.post("/api/v1/auth/refresh/", {"refresh": pair["refresh"]}, format="json").json()
    api.post("/api/v1/auth/refresh/", {"refresh": pair["refresh"]}, format="json")
    api.get("/api/v1/me/", **bearer(rotated["access"]))
    second = login(api, "alice@example.com")
    api.post(
        "/api/v1/auth/logout/",
        {"refresh": second["refresh"]},
        format="json",
        **bearer(second["access"]),
    )
    third = login(api, "alice@example.com")
    new = api.post(
        "/api/v1/me/access-tokens/", {"name": "ci"}, format="json", **bearer(third["access"])
    ).json()
    api.get("/api/v1/me/", **bearer(new["token"]))
    api.delete(f"/api/v1/me/access-tokens/{new['id']}/", **bearer(third["access"]))
    leaked = get_engine().create_pat(user.pk, "leaked")
    get_engine().report_leaked_pat(leaked.token, "https://example.com/leak")
    api.post(
        "/api/v1/auth/reauthenticate/",
        {"password": PASSWORD},
        format="json",
        **bearer(third["access"]),
    )
    api.post("/api/v1/auth/logout-all/", **bearer(third["access"]))
    settings.TESSERA = {**settings.TESSERA, "MAX_SESSIONS_PER_USER": 1}
    login(api, "alice@example.com")
    login(api, "alice@example.com")

    seen = kinds(received)
    for kind in signals.SIGNALS:
        assert kind in seen, (kind, seen)
    first = received[0]
    assert first["sender"] is tessera.Event
    assert first["user_id"] == str(user.pk)
    assert first["family_id"]
    pat_events = [e for e in received if e["event"].kind.startswith("pat_")]
    assert all(e["pat_prefix"] in (new["prefix"], leaked.prefix) for e in pat_events)
    [leak] = [e for e in received if e["event"].kind == "pat_leaked"]
    assert (leak["pat_prefix"], leak["url"]) == (leaked.prefix, "https://example.com/leak")
    assert all(e["url"] is None for e in received if e is not leak)


def test_each_refresh_request_reports_once(
    api: APIClient, user: AbstractBaseUser, received: list[dict[str, Any]]
) -> None:
    pair = login(api, "alice@example.com")
    refresh = "/api/v1/auth/refresh/"
    del received[:]
    assert api.post(refresh, {"refresh": pair["refresh"]}, format="json").status_code == 200
    assert kinds(received) == ["refresh_rotated"]
    del received[:]
    assert api.post(refresh, {"refresh": pair["refresh"]}, format="json").status_code == 401
    assert kinds(received) == ["reuse_detected"]
    del received[:]
    assert api.post(refresh, {"refresh": pair["refresh"] + "x"}, format="json").status_code == 401
    assert kinds(received) == ["verification_failed"]


def test_an_inactive_users_refresh_ends_the_session_unrotated(
    api: APIClient, user: AbstractBaseUser, received: list[dict[str, Any]]
) -> None:
    pair = login(api, "alice@example.com")
    user.is_active = False
    user.save()
    del received[:]
    response = api.post("/api/v1/auth/refresh/", {"refresh": pair["refresh"]}, format="json")
    assert response.json()["error"]["code"] == "user_inactive"
    # The user is checked before the rotation: the session ends, unrotated.
    assert kinds(received) == ["logout"]


def test_kind_specific_signals(api: APIClient, user: AbstractBaseUser) -> None:
    seen: list[dict[str, Any]] = []

    def on_reuse(sender: object, **kwargs: Any) -> None:
        seen.append(kwargs)

    signals.reuse_detected.connect(on_reuse)
    try:
        pair = login(api, "alice@example.com")
        api.post("/api/v1/auth/refresh/", {"refresh": pair["refresh"]}, format="json")
        assert seen == []
        api.post("/api/v1/auth/refresh/", {"refresh": pair["refresh"]}, format="json")
    finally:
        signals.reuse_detected.disconnect(on_reuse)
    [event] = seen
    assert event["code"] == "refresh_reused"
    assert event["user_id"] == str(user.pk)


def test_log_records_name_the_user_and_never_a_token(
    api: APIClient, user: AbstractBaseUser, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tessera")
    pair = login(api, "alice@example.com")
    api.post("/api/v1/auth/refresh/", {"refresh": pair["refresh"]}, format="json")
    api.post("/api/v1/auth/refresh/", {"refresh": pair["refresh"]}, format="json")
    new = get_engine().create_pat(user.pk, "ci")
    api.get("/api/v1/me/", **bearer(new.token))

    records = [r for r in caplog.records if r.name == "tessera"]
    by_kind = {r.tessera["event"]: r for r in records}  # type: ignore[attr-defined]
    assert {
        "session_issued",
        "refresh_rotated",
        "reuse_detected",
        "pat_created",
        "pat_used",
    } <= set(by_kind)
    assert by_kind["reuse_detected"].levelno == logging.WARNING
    assert by_kind["session_issued"].levelno == logging.INFO
    assert f"user={user.pk}" in by_kind["session_issued"].getMessage()
    assert new.prefix in by_kind["pat_used"].getMessage()
    text = "\n".join(r.getMessage() + repr(r.__dict__) for r in records)
    for secret in (pair["access"], pair["refresh"], new.token):
        assert secret not in text
        assert secret.split(".")[-1] not in text


def test_a_failing_receiver_does_not_fail_the_request(
    api: APIClient, user: AbstractBaseUser, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(sender: object, **kwargs: Any) -> None:
        raise RuntimeError("receiver bug")

    signals.session_issued.connect(broken)
    try:
        login(api, "alice@example.com")
    finally:
        signals.session_issued.disconnect(broken)
    assert any("receiver" in r.getMessage() for r in caplog.records if r.name == "tessera")
