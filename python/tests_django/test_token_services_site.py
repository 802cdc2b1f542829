"""The JWKS, introspection, revocation and the secret-scanning receiver on the
example site under gunicorn (EdDSA, several workers sharing one token
database): other services verify its tokens with PyJWT, a logout in one
process is seen by introspection in another, and a signed leak report
revokes a PAT for every worker.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import tessera

from scanning import URL as SCANNING_URL
from scanning import Signer, alert, key_document
from sites import Result, Site, at_once, free_port, gunicorn, log_in, manage, site_env

pytestmark = pytest.mark.processes

WORKERS = 3
GITHUB = Signer.new("github-test-key")
STAFF = {"email": "admin@example.com", "password": "portfolio-admin-password"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data = tmp_path_factory.mktemp("services")
    keys = data / "github-keys.json"
    keys.write_text(json.dumps(key_document(GITHUB)))
    overrides = {
        "ALGORITHM": "EdDSA",
        "SIGNING_KEY": tessera.generate_key("EdDSA"),
        "PREVIOUS_SIGNING_KEYS": [tessera.generate_key("EdDSA")],
        "SECRET_SCANNING_GITHUB_KEYS": str(keys),
    }
    port = free_port()
    env = site_env(data, TESSERA_TEST_SETTINGS=json.dumps(overrides))
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "portfolio_demo", "--base-url", f"http://127.0.0.1:{port}")
    with gunicorn(env, port, WORKERS, data / "gunicorn.log") as s:
        yield s


def raw(site: Site, method: str, path: str, body: bytes, headers: dict[str, str]) -> Result:
    conn = http.client.HTTPConnection("127.0.0.1", site.port, timeout=60)
    try:
        conn.request(method, path, body, headers)
        response = conn.getresponse()
        data = response.read()
        pid = response.getheader("X-Worker-Pid", "")
    finally:
        conn.close()
    return response.status, json.loads(data) if data else None, pid


def form(site: Site, path: str, token: str, bearer: str | None = None) -> Result:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    from urllib.parse import urlencode

    return raw(site, "POST", path, urlencode({"token": token}).encode(), headers)


@pytest.fixture(scope="module")
def service(site: Site) -> str:
    """A PAT with tessera:introspect of the site's staff user (the demo admin)."""
    status, body, _ = site.call("POST", "/api/v1/auth/login/email/", STAFF)
    assert status == 200, body
    status, body, _ = site.call(
        "POST",
        "/api/v1/me/access-tokens/",
        {"name": "resource server", "scopes": ["tessera:introspect"]},
        token=body["tokens"]["access"],
    )
    assert status == 201, body
    return str(body["token"])


def every_worker(site: Site, request: Any, rounds: int = 20) -> list[Result]:
    """Bursts of concurrent `request`s until every worker answered (bounded)."""
    results: list[Result] = []
    for _ in range(rounds):
        results += at_once(2 * WORKERS, lambda _: request())
        if len({pid for _, _, pid in results}) >= WORKERS:
            break
    assert len({pid for _, _, pid in results}) >= 2
    return results


def test_pyjwt_verifies_the_sites_tokens_with_its_jwks(site: Site) -> None:
    tokens = log_in(site)
    client = jwt.PyJWKClient(f"http://127.0.0.1:{site.port}/api/v1/auth/jwks.json")
    key = client.get_signing_key_from_jwt(tokens["access"])
    claims = jwt.decode(tokens["access"], key=key, algorithms=["EdDSA"])
    assert claims["token_type"] == "access"
    assert len(client.get_jwk_set().keys) == 2
    # A token signed by another key does not verify.
    with tessera.Engine(None, signing_key=tessera.generate_key("EdDSA"), algorithm="EdDSA") as e:
        forged = e.issue(str(claims["user_id"])).access
    with pytest.raises(jwt.PyJWKClientError):
        client.get_signing_key_from_jwt(forged)


def test_a_logout_in_one_process_is_seen_by_introspection_in_every_other(
    site: Site, service: str
) -> None:
    tokens = log_in(site)
    active = every_worker(
        site, lambda: form(site, "/api/v1/auth/introspect/", tokens["access"], service)
    )
    assert all(status == 200 and body["active"] is True for status, body, _ in active)
    status, _, _ = site.call("POST", "/api/v1/auth/logout-all/", {}, token=tokens["access"])
    assert status == 204
    inactive = every_worker(
        site, lambda: form(site, "/api/v1/auth/introspect/", tokens["access"], service)
    )
    assert all(body == {"active": False} for _, body, _ in inactive)


def test_revocation_by_the_presenter_holds_in_every_worker(site: Site, service: str) -> None:
    for kind in ("refresh", "access"):
        tokens = log_in(site)
        status, body, _ = form(site, "/api/v1/auth/revoke/", tokens[kind])
        assert (status, body) == (200, None)
        results = every_worker(
            site, lambda t=tokens: site.call("GET", "/api/v1/me/", token=t["access"])
        )
        assert {status for status, _, _ in results} == {401}


def test_a_signed_alert_revokes_a_pat_for_every_worker(site: Site) -> None:
    tokens = log_in(site)
    status, body, _ = site.call(
        "POST", "/api/v1/me/access-tokens/", {"name": "leaky"}, token=tokens["access"]
    )
    assert status == 201
    pat = body["token"]
    assert {
        s for s, _, _ in every_worker(site, lambda: site.call("GET", "/api/v1/me/", token=pat))
    } == {200}

    # A tampered body or a wrong key id revokes nothing.
    good = alert(pat)
    tampered = good.replace(b"config0", b"elsewhere")
    headers = {"Content-Type": "application/json", **GITHUB.headers(good)}
    assert raw(site, "POST", SCANNING_URL, tampered, headers)[0] == 401
    wrong_id = {**headers, "Github-Public-Key-Identifier": "another-key"}
    assert raw(site, "POST", SCANNING_URL, good, wrong_id)[0] == 401
    assert site.call("GET", "/api/v1/me/", token=pat)[0] == 200

    status, report, _ = raw(site, "POST", SCANNING_URL, good, headers)
    assert status == 200
    assert [entry["label"] for entry in report] == ["true_positive"]
    results = every_worker(site, lambda: site.call("GET", "/api/v1/me/", token=pat))
    assert {(s, b["error"]["code"]) for s, b, _ in results} == {(401, "pat_revoked")}


def test_an_alert_of_a_thousand_matches_is_answered(site: Site) -> None:
    # 10 live PATs among 1,000 matches: 990 look like Tessera PATs (right
    # format and checksum) but are unknown, as scanners report them.
    tokens = log_in(site)
    live = []
    for i in range(10):
        status, body, _ = site.call(
            "POST", "/api/v1/me/access-tokens/", {"name": f"bulk {i}"}, token=tokens["access"]
        )
        assert status == 201, body
        live.append(body["token"])
    with tessera.Engine(None, signing_key=tessera.generate_key("EdDSA"), algorithm="EdDSA") as e:
        foreign = [e.create_pat(f"u{i}", "n").token for i in range(990)]
    body = alert(*live, *foreign)
    headers = {"Content-Type": "application/json", **GITHUB.headers(body)}
    started = time.perf_counter()
    status, report, _ = raw(site, "POST", SCANNING_URL, body, headers)
    elapsed = time.perf_counter() - started
    assert status == 200
    assert len(report) == 1000
    assert [e["label"] for e in report].count("true_positive") == 10
    # The figure for docs/benchmarks.md; not an assertion.
    print(f"\nsecret-scanning alert, 1000 matches (10 live): {elapsed * 1000:.0f} ms")
