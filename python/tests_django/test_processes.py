"""The example site under gunicorn: 4 sync workers sharing one token database.

Also runs `make demo`'s curl commands, as printed, against it. Everything is
bounded: loopback only, fixed request counts, and timeouts on every wait.
"""

from __future__ import annotations

import http.client
import json
import subprocess
from collections.abc import Callable, Iterator
from http.cookies import SimpleCookie

import pytest

from sites import (
    Result,
    Site,
    at_once,
    every_worker,
    free_port,
    guess_rounds,
    gunicorn,
    log_in,
    manage,
    one_successor,
    set_active,
    site_env,
    user_change_is_seen_by_every_worker,
)

pytestmark = pytest.mark.processes

WORKERS = 4
CLIENTS = 16


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data = tmp_path_factory.mktemp("site")
    port = free_port()
    env = site_env(data)
    manage(env, "migrate", "--noinput", "-v", "0")
    demo_output = manage(env, "portfolio_demo", "--base-url", f"http://127.0.0.1:{port}")
    with gunicorn(env, port, WORKERS, data / "gunicorn.log") as s:
        s.demo_output = demo_output
        yield s


def until_every_worker(site: Site, request: Callable[[], Result], rounds: int = 25) -> list[Result]:
    """Bursts of concurrent `request`s until all workers have answered (bounded)."""
    results: list[Result] = []
    for _ in range(rounds):
        results += at_once(2 * WORKERS, lambda _: request())
        if len({pid for _, _, pid in results}) >= WORKERS:
            break
    return results


def test_concurrent_refreshes_of_one_token_converge(site: Site) -> None:
    """16 clients (tabs, app instances) refresh one token at once, on 4
    workers: every one gets the same successor, which then rotates on."""
    for trial in range(5):
        tokens = log_in(site)
        results = at_once(
            CLIENTS,
            lambda _, t=tokens: site.call(
                "POST", "/api/v1/auth/refresh/", {"refresh": t["refresh"]}
            ),
        )
        successor = one_successor(results)
        assert len({pid for _, _, pid in results}) >= 2, "one worker served everything"
        status, body, _ = site.call("GET", "/api/v1/me/", token=successor["access"])
        assert status == 200, (trial, body)
        status, body, _ = site.call(
            "POST", "/api/v1/auth/refresh/", {"refresh": successor["refresh"]}
        )
        assert status == 200, (trial, body)


def browser_login(site: Site) -> tuple[str, dict[str, str]]:
    """A login in cookie mode, as the SPA makes it: the access token and the
    cookies set (the refresh cookie and the CSRF token)."""
    conn = http.client.HTTPConnection("127.0.0.1", site.port, timeout=30)
    try:
        body = {"email": "demo@example.com", "password": "portfolio-demo-password"}
        headers = {"Content-Type": "application/json", "X-Tessera-Refresh": "cookie"}
        conn.request("POST", "/api/v1/auth/login/email/", json.dumps(body), headers)
        response = conn.getresponse()
        payload = json.loads(response.read())
        assert response.status == 200, payload
        jar: SimpleCookie = SimpleCookie()
        for header in response.msg.get_all("Set-Cookie") or []:
            jar.load(header)
    finally:
        conn.close()
    return payload["tokens"]["access"], {name: m.value for name, m in jar.items()}


def test_a_password_change_in_another_process_ends_the_sessions(site: Site) -> None:
    """The password changes in a manage.py process; every worker refuses
    the sessions' access tokens at once, a body refresh token, and a copy
    of a refresh cookie."""
    access, cookies = browser_login(site)
    other = log_in(site)
    manage(
        site.env,
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model\n"
        "user = get_user_model().objects.get(email='demo@example.com')\n"
        "user.set_password('portfolio-demo-password')\n"
        "user.save()\n",
    )
    refused = until_every_worker(site, lambda: site.call("GET", "/api/v1/me/", token=access))
    assert {(s, b["error"]["code"]) for s, b, _ in refused} == {(401, "token_revoked")}
    status, body, _ = site.call("POST", "/api/v1/auth/refresh/", {"refresh": other["refresh"]})
    assert (status, body["error"]["code"]) == (401, "token_revoked")
    jar = "; ".join(f"{name}={value}" for name, value in cookies.items())
    status, body, _ = site.call(
        "POST",
        "/api/v1/auth/refresh/",
        {},
        headers={"Cookie": jar, "X-CSRFToken": cookies["csrftoken"]},
    )
    assert (status, body["error"]["code"]) == (401, "token_revoked")


def cookie_refresh(site: Site, cookies: dict[str, str]) -> tuple[int, dict[str, str], str]:
    """A refresh by the cookie, as a tab sends it: (status, cookies set, worker pid)."""
    conn = http.client.HTTPConnection("127.0.0.1", site.port, timeout=30)
    try:
        headers = {
            "Content-Type": "application/json",
            "Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items()),
            "X-CSRFToken": cookies["csrftoken"],
        }
        conn.request("POST", "/api/v1/auth/refresh/", "{}", headers)
        response = conn.getresponse()
        response.read()
        jar: SimpleCookie = SimpleCookie()
        for header in response.msg.get_all("Set-Cookie") or []:
            jar.load(header)
        pid = response.getheader("X-Worker-Pid", "")
    finally:
        conn.close()
    return response.status, {name: m.value for name, m in jar.items()}, pid


def test_two_tabs_refresh_one_cookie_at_once(site: Site) -> None:
    """Two tabs share one cookie jar and refresh at once on different
    workers; the browser applies their Set-Cookie in either order, and the
    next refresh works every time."""
    _, jar = browser_login(site)
    for trial in range(10):
        results = at_once(2, lambda _, j=dict(jar): cookie_refresh(site, j))
        assert [status for status, _, _ in results] == [200, 200], (trial, results)
        first, second = (cookies for _, cookies, _ in results)
        assert first["tessera_refresh"] == second["tessera_refresh"], trial
        order = (first, second) if trial % 2 else (second, first)
        for cookies in order:
            jar.update(cookies)
        status, cookies, _ = cookie_refresh(site, jar)
        assert status == 200, trial
        jar.update(cookies)


def test_login_limit_holds_across_workers(site: Site) -> None:
    """The 11th wrong guess is refused whichever of the 4 workers answers."""
    refusers = guess_rounds(site, 20, "workers")
    assert len(refusers) >= 2, "one worker refused every time: the test proves nothing"


def test_pats_work_in_every_worker_and_revocation_is_seen_by_all(site: Site) -> None:
    access = log_in(site)["access"]
    status, new, creator = site.call(
        "POST",
        "/api/v1/me/access-tokens/",
        {"name": "multi-worker", "scopes": ["portfolio:read"]},
        access,
    )
    assert status == 201, new

    used = until_every_worker(
        site, lambda: site.call("GET", "/api/v1/portfolio/", token=new["token"])
    )
    assert {status for status, _, _ in used} == {200}
    workers = {pid for _, _, pid in used}
    assert len(workers) == WORKERS, f"only {len(workers)} workers answered"
    assert workers - {creator}, "no worker besides the creator used it"

    status, _, _ = site.call("DELETE", f"/api/v1/me/access-tokens/{new['id']}/", token=access)
    assert status == 204
    after = until_every_worker(
        site, lambda: site.call("GET", "/api/v1/portfolio/", token=new["token"])
    )
    assert {(status, body["error"]["code"]) for status, body, _ in after} == {(401, "pat_revoked")}
    assert len({pid for _, _, pid in after}) == WORKERS


def test_a_user_deactivated_in_one_worker_is_refused_by_every_worker(site: Site) -> None:
    user_change_is_seen_by_every_worker([site], WORKERS)


def test_a_user_changed_by_another_process_is_refused_by_every_worker(site: Site) -> None:
    """A save in `manage.py shell` bumps the stamp (and, deactivating, ends
    the sessions); a QuerySet.update() there does neither, until `manage.py
    tessera_bump_user` makes every worker read the user afresh."""
    access = log_in(site)["access"]
    status, me, _ = site.call("GET", "/api/v1/me/", token=access)
    assert status == 200, me
    user = (
        f"from django.contrib.auth import get_user_model as m; u = m().objects.get(pk={me['id']})"
    )
    try:
        assert {s for s, _, _ in every_worker([site], WORKERS, "/api/v1/me/", access)} == {200}
        manage(site.env, "shell", "-c", f"{user}; u.is_active = False; u.save()")
        after = every_worker([site], WORKERS, "/api/v1/me/", access)
        assert {(s, body["error"]["code"]) for s, body, _ in after} == {(401, "token_revoked")}

        set_active(site, me["id"], True)
        access = log_in(site)["access"]
        assert {s for s, _, _ in every_worker([site], WORKERS, "/api/v1/me/", access)} == {200}
        manage(
            site.env, "shell", "-c", f"{user}; m().objects.filter(pk=u.pk).update(is_active=False)"
        )
        manage(site.env, "tessera_bump_user", str(me["id"]))
        after = every_worker([site], WORKERS, "/api/v1/me/", access)
        assert {(s, body["error"]["code"]) for s, body, _ in after} == {(401, "user_inactive")}
    finally:
        set_active(site, me["id"], True)


def test_demo_commands_work_as_printed(site: Site) -> None:
    marker = "# In another terminal, while the site runs:"
    assert marker in site.demo_output
    script = site.demo_output.split(marker, 1)[1]
    result = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=120, env=site.env
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    login, portfolio, project, me, rotated, again, reused, revoked, reauthenticated = lines
    assert set(login["tokens"]) == {"access", "refresh"}
    assert login["user"]["email"] == "demo@example.com"
    assert portfolio["user"]["email"] == "demo@example.com"
    assert project["title"] == "Tessera demo"
    assert me["email"] == "demo@example.com"
    assert set(rotated) == {"access", "refresh"}
    assert again == rotated
    assert reused["error"]["code"] == "refresh_reused"
    assert revoked["error"]["code"] == "token_revoked"
    assert set(reauthenticated) == {"access", "refresh"}
