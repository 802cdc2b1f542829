"""The example site under gunicorn: 4 sync workers sharing one token database.

Also runs `make demo`'s curl commands, as printed, against it. Everything is
bounded: loopback only, fixed request counts, and timeouts on every wait.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.processes

HERE = Path(__file__).resolve().parent
SITE = HERE.parent / "examples" / "portfolio"
WORKERS = 4
CLIENTS = 16


@dataclass
class Site:
    port: int
    env: dict[str, str]
    demo_output: str

    def call(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any, str]:
        """(status, JSON body or None, worker pid) of one request on a new connection."""
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, json.dumps(body) if body is not None else None, headers)
            response = conn.getresponse()
            raw = response.read()
            pid = response.getheader("X-Worker-Pid", "")
            is_json = response.getheader("Content-Type", "").startswith("application/json")
        finally:
            conn.close()
        return response.status, json.loads(raw) if raw and is_json else None, pid


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=SITE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data = tmp_path_factory.mktemp("site")
    port = free_port()
    path = [str(HERE), str(SITE)]
    if os.environ.get("PYTHONPATH"):
        path.append(os.environ["PYTHONPATH"])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(path),
        "PORTFOLIO_DATA_DIR": str(data),
        "DJANGO_SETTINGS_MODULE": "gunicorn_settings",
    }
    manage(env, "migrate", "--noinput", "-v", "0")
    demo_output = manage(env, "portfolio_demo", "--base-url", f"http://127.0.0.1:{port}")
    log = (data / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn",
            "--workers", str(WORKERS), "--worker-class", "sync",
            "--bind", f"127.0.0.1:{port}", "--timeout", "60", "--graceful-timeout", "5",
            "portfolio_site.wsgi:application",
        ],
        cwd=SITE,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        s = Site(port, env, demo_output)
        deadline = time.monotonic() + 60
        while True:
            try:
                if s.call("GET", "/login/")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, (data / "gunicorn.log").read_text()
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        yield s
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        log.close()


def at_once(n: int, request: Callable[[], tuple[int, Any, str]]) -> list[tuple[int, Any, str]]:
    """Runs `request` on `n` threads released together; their results."""
    barrier = threading.Barrier(n, timeout=30)
    results: list[tuple[int, Any, str]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            barrier.wait()
            result = request()
            with lock:
                results.append(result)
        except BaseException as e:
            with lock:
                errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert len(results) == n
    return results


def log_in(site: Site) -> dict[str, str]:
    status, body, _ = site.call(
        "POST",
        "/api/v1/auth/login/email/",
        {"email": "demo@example.com", "password": "portfolio-demo-password"},
    )
    assert status == 200, body
    return body["tokens"]


def until_every_worker(
    site: Site, request: Callable[[], tuple[int, Any, str]], rounds: int = 25
) -> list[tuple[int, Any, str]]:
    """Bursts of concurrent `request`s until all workers have answered (bounded)."""
    results: list[tuple[int, Any, str]] = []
    for _ in range(rounds):
        results += at_once(2 * WORKERS, request)
        if len({pid for _, _, pid in results}) >= WORKERS:
            break
    return results


def test_concurrent_refreshes_of_one_token_have_one_winner(site: Site) -> None:
    tokens = log_in(site)
    results = at_once(
        CLIENTS, lambda: site.call("POST", "/api/v1/auth/refresh/", {"refresh": tokens["refresh"]})
    )
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [200] + [401] * (CLIENTS - 1), statuses
    for status, body, _ in results:
        if status == 401:
            assert body["error"]["code"] in {"refresh_reused", "token_revoked"}, body
    assert len({pid for _, _, pid in results}) >= 2, "one worker served everything"
    # The losers presented a spent token: the whole session is revoked.
    [winner] = [body for status, body, _ in results if status == 200]
    status, body, _ = site.call("GET", "/api/v1/me/", token=winner["access"])
    assert (status, body["error"]["code"]) == (401, "token_revoked")


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
