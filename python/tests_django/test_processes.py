"""The example site under gunicorn: 4 sync workers sharing one token database.

Also runs `make demo`'s curl commands, as printed, against it. Everything is
bounded: loopback only, fixed request counts, and timeouts on every wait.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator

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
    one_winner,
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


def test_concurrent_refreshes_of_one_token_have_one_winner(site: Site) -> None:
    tokens = log_in(site)
    results = at_once(
        CLIENTS,
        lambda _: site.call("POST", "/api/v1/auth/refresh/", {"refresh": tokens["refresh"]}),
    )
    winner = one_winner(results)
    assert len({pid for _, _, pid in results}) >= 2, "one worker served everything"
    # The losers presented a spent token: the whole session is revoked.
    status, body, _ = site.call("GET", "/api/v1/me/", token=winner["access"])
    assert (status, body["error"]["code"]) == (401, "token_revoked")


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
    """A save in `manage.py shell` bumps the stamp; a QuerySet.update()
    there does not, until `manage.py tessera_bump_user`."""
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
        assert {(s, body["error"]["code"]) for s, body, _ in after} == {(401, "user_inactive")}

        set_active(site, me["id"], True)
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
    login, portfolio, project, me, rotated, reused, revoked = lines
    assert set(login["tokens"]) == {"access", "refresh"}
    assert login["user"]["email"] == "demo@example.com"
    assert portfolio["user"]["email"] == "demo@example.com"
    assert project["title"] == "Tessera demo"
    assert me["email"] == "demo@example.com"
    assert set(rotated) == {"access", "refresh"}
    assert reused["error"]["code"] == "refresh_reused"
    assert revoked["error"]["code"] == "token_revoked"
