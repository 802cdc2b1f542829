"""Helpers shared by the tests (pytest puts this folder on sys.path)."""

from __future__ import annotations

import re
import time
from typing import Any

from rest_framework.test import APIClient

PASSWORD = "correct horse battery staple"
PAT_RE = re.compile(r"tsr_pat_[0-9A-Za-z]{49}")
ISO_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
AUTH_HEADER = 'Bearer realm="api"'


def login(api: APIClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    response = api.post(
        "/api/v1/auth/login/email/", {"email": email, "password": password}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()["tokens"]


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def assert_error(response: Any, status: int, code: str) -> None:
    """The response is `status` with exactly the body {"error": {"code", "message"}}."""
    assert response.status_code == status, (response.status_code, response.content)
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    if status == 401:
        assert response.headers["WWW-Authenticate"] == AUTH_HEADER


def sleep_past(timestamp: float) -> None:
    """Sleeps until the wall clock's whole second is past `timestamp`."""
    while int(time.time()) <= timestamp:
        time.sleep(0.05)
