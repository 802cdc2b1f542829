"""GitHub's secret-scanning receiver through Django's test client: signed
alerts revoke live PATs once; anything unsigned changes nothing."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import pytest
from django.contrib.auth.base_user import AbstractBaseUser
from rest_framework.test import APIClient
from tessera.django import signals
from tessera.django.engine import get_engine

from scanning import URL, Signer, alert, key_document
from support import assert_error, bearer


@pytest.fixture
def github(settings: Any) -> Signer:
    signer = Signer.new("test-key-1")
    spare = Signer.new("test-key-0")
    settings.TESSERA = {
        **settings.TESSERA,
        "SECRET_SCANNING_GITHUB_KEYS": key_document(signer, spare),
    }
    return signer


def post(api: APIClient, body: bytes, headers: dict[str, str]) -> Any:
    extra = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
    return api.generic("POST", URL, body, content_type="application/json", **extra)


def test_a_signed_alert_revokes_a_live_pat_once(
    api: APIClient, user: AbstractBaseUser, github: Signer, caplog: pytest.LogCaptureFixture
) -> None:
    pat = get_engine().create_pat(user.pk, "ci")
    leaks: list[dict[str, Any]] = []

    def on_leak(sender: Any, **kwargs: Any) -> None:
        leaks.append(kwargs)

    signals.pat_leaked.connect(on_leak)
    try:
        body = alert(pat.token, "ghp_notours", "tsr_pat_" + "0" * 49)
        with caplog.at_level(logging.INFO, logger="tessera"):
            response = post(api, body, github.headers(body))
        assert response.status_code == 200, response.content
        report = response.json()
        assert report == [
            {
                "token_hash": hashlib.sha256(t.encode()).hexdigest(),
                "token_type": "tessera_personal_access_token",
                "label": label,
            }
            for t, label in (
                (pat.token, "true_positive"),
                ("ghp_notours", "false_positive"),
                ("tsr_pat_" + "0" * 49, "false_positive"),
            )
        ]
        assert_error(api.get("/api/v1/me/", **bearer(pat.token)), 401, "pat_revoked")
        [leak] = leaks
        assert leak["user_id"] == str(user.pk)
        assert leak["pat_prefix"] == pat.prefix
        assert leak["url"] == "https://github.com/octo/leaky/blob/main/config0.env"
        # Never the token, in the signal or the log.
        assert pat.token not in repr(leak)
        assert pat.token not in caplog.text
        assert "pat_leaked" in caplog.text

        # GitHub retries: the same answer, nothing revoked or reported again.
        again = post(api, body, github.headers(body))
        assert again.json() == report
        assert len(leaks) == 1
    finally:
        signals.pat_leaked.disconnect(on_leak)


@pytest.mark.parametrize("fault", ["tampered", "wrong_key_id", "unknown_key", "missing", "junk"])
def test_an_unverified_alert_changes_nothing(
    api: APIClient, user: AbstractBaseUser, github: Signer, fault: str,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    pat = get_engine().create_pat(user.pk, "ci")
    body = alert(pat.token)
    headers = github.headers(body)
    if fault == "tampered":
        body = body.replace(b"config0", b"config1")
    elif fault == "wrong_key_id":
        headers["Github-Public-Key-Identifier"] = "test-key-0"
    elif fault == "unknown_key":
        other = Signer.new("test-key-1")
        headers = other.headers(body)
    elif fault == "missing":
        headers = {}
    else:
        headers["Github-Public-Key-Signature"] = "not base64!"
    with caplog.at_level(logging.DEBUG):
        response = post(api, body, headers)
    code = "not_authenticated" if fault == "missing" else "invalid_credentials"
    assert_error(response, 401, code)
    assert api.get("/api/v1/me/", **bearer(pat.token)).status_code == 200
    assert pat.token not in caplog.text
    assert "pat_leaked" not in caplog.text


def test_a_signed_alert_of_another_shape_is_a_400(api: APIClient, github: Signer) -> None:
    for body in (b"{", b'{"token": "x"}', b'[{"token": 1, "type": "t"}]'):
        assert_error(post(api, body, github.headers(body)), 400, "validation_error")


def test_the_receiver_is_off_until_configured(api: APIClient, db: None) -> None:
    body = alert("x")
    assert_error(post(api, body, Signer.new("k").headers(body)), 404, "not_found")


def test_the_keys_may_be_a_path_to_githubs_document(
    api: APIClient, user: AbstractBaseUser, settings: Any, tmp_path: Any
) -> None:
    signer = Signer.new("from-file")
    path = tmp_path / "secret_scanning.json"
    path.write_text(json.dumps(key_document(signer)))
    settings.TESSERA = {**settings.TESSERA, "SECRET_SCANNING_GITHUB_KEYS": str(path)}
    pat = get_engine().create_pat(user.pk, "ci")
    body = alert(pat.token)
    assert post(api, body, signer.headers(body)).json()[0]["label"] == "true_positive"
    assert api.get("/api/v1/me/", **bearer(pat.token)).status_code == 401


@pytest.mark.parametrize(
    "value", ["/nonexistent/keys.json", "{not json", {"public_keys": []}, {"public_keys": [{}]}]
)
def test_a_bad_key_setting_is_reported(settings: Any, value: Any) -> None:
    from tessera.django import conf

    settings.TESSERA = {**settings.TESSERA, "SECRET_SCANNING_GITHUB_KEYS": value}
    parsed, problems = conf.read()
    assert parsed is None
    assert [p.id for p in problems] == ["tessera.E010"]
