"""The example site under gunicorn, for the tests that cross processes.

Everything is bounded: loopback only, timeouts on every wait, and the
server is stopped however the test ends.
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
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SITE = HERE.parent / "examples" / "portfolio"

Result = tuple[int, Any, str]


@dataclass
class Site:
    port: int
    env: dict[str, str]
    demo_output: str = ""

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Result:
        """(status, JSON body or None, worker pid) of one request on a new connection."""
        headers = {"Content-Type": "application/json", **(headers or {})}
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


def site_env(data: Path, **extra: str) -> dict[str, str]:
    """The environment of the example site with the test settings."""
    path = [str(HERE), str(SITE)]
    if os.environ.get("PYTHONPATH"):
        path.append(os.environ["PYTHONPATH"])
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(path),
        "PORTFOLIO_DATA_DIR": str(data),
        "DJANGO_SETTINGS_MODULE": "gunicorn_settings",
        **extra,
    }


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


@contextmanager
def gunicorn(env: dict[str, str], port: int, workers: int, log_path: Path) -> Iterator[Site]:
    """The site served by gunicorn with `workers` sync workers, once it answers."""
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn",
                "--workers", str(workers), "--worker-class", "sync",
                "--bind", f"127.0.0.1:{port}", "--timeout", "60", "--graceful-timeout", "5",
                "portfolio_site.wsgi:application",
            ],
            cwd=SITE,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            site = Site(port, env)
            deadline = time.monotonic() + 60
            while True:
                try:
                    if site.call("GET", "/login/")[0] == 200:
                        break
                except OSError:
                    pass
                assert server.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
            yield site
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)


def at_once(n: int, request: Callable[[int], Result]) -> list[Result]:
    """Runs `request(i)` on `n` threads released together; their results."""
    barrier = threading.Barrier(n, timeout=30)
    results: list[Result] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        try:
            barrier.wait()
            result = request(i)
            with lock:
                results.append(result)
        except BaseException as e:
            with lock:
                errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert len(results) == n
    return results


def log_in(site: Site) -> dict[str, str]:
    """The demo user's token pair (the user `portfolio_demo` creates)."""
    status, body, _ = site.call(
        "POST",
        "/api/v1/auth/login/email/",
        {"email": "demo@example.com", "password": "portfolio-demo-password"},
    )
    assert status == 200, body
    return body["tokens"]


def one_successor(results: list[Result]) -> dict[str, str]:
    """Checks that concurrent refreshes of one token inside REUSE_GRACE (the
    example site's default, 10 s) all got the same successor pair; the pair."""
    statuses = [status for status, _, _ in results]
    assert statuses == [200] * len(results), [body for _, body, _ in results]
    pairs = {(body["access"], body["refresh"]) for _, body, _ in results}
    assert len(pairs) == 1, f"{len(pairs)} different successors"
    return dict(results[0][1])


def guess_rounds(site: Site, trials: int, tag: str) -> set[str]:
    """`trials` rounds of 11 concurrent wrong passwords for one account from
    one address (X-Forwarded-For, which the test settings trust): exactly
    10 are checked (401) and one refused (429 with Retry-After), whichever
    workers answer; then another address is not affected. The pids of the
    workers that refused."""
    refusers: set[str] = set()
    for trial in range(trials):
        account = f"{tag}-{trial}@example.com"

        def attempt(_: int, address: str = f"10.{trial}.0.1", account: str = account) -> Result:
            return site.call(
                "POST",
                "/api/v1/auth/login/email/",
                {"email": account, "password": "wrong"},
                headers={"X-Forwarded-For": address},
            )

        results = at_once(11, attempt)
        statuses = sorted(status for status, _, _ in results)
        assert statuses == [401] * 10 + [429], (trial, statuses)
        [refused] = [r for r in results if r[0] == 429]
        assert refused[1]["error"]["code"] == "too_many_attempts"
        refusers.add(refused[2])
        assert attempt(0)[0] == 429, "the limit holds for the next guess too"
        assert attempt(0, f"10.{trial}.0.2")[0] == 401, "another address is not affected"
    return refusers


def every_worker(sites: list[Site], workers: int, path: str, token: str) -> list[Result]:
    """Bursts of concurrent GETs of `path` on each site until every worker of
    each has answered (bounded): every answer, each from a request begun
    after the call."""
    results: list[Result] = []
    for site in sites:
        seen: set[str] = set()
        for _ in range(25):
            burst = at_once(2 * workers, lambda _, site=site: site.call("GET", path, token=token))
            results += burst
            seen |= {pid for _, _, pid in burst}
            if len(seen) >= workers:
                break
        assert len(seen) == workers, f"only {len(seen)} workers answered"
    return results


def set_active(site: Site, user_id: int, active: bool) -> str:
    """Saves the user's is_active through the ORM in one worker; its pid."""
    status, body, pid = site.call("POST", f"/test/users/{user_id}/active/", {"active": active})
    assert (status, body) == (200, {"active": active})
    return pid


def user_change_is_seen_by_every_worker(sites: list[Site], workers: int) -> None:
    """The demo user, cached by every worker of every site (its JWT and a
    PAT), is deactivated through one worker of the first site: the very
    next request to each worker of each site is refused, the PAT with 401
    user_inactive (the user read afresh: the stamp moved) and the JWT with
    401 token_revoked (deactivation also ends the user's sessions).
    Reactivated, the PAT and a new login are served again everywhere. The
    user ends active."""
    first = sites[0]
    access = log_in(first)["access"]
    status, me, _ = first.call("GET", "/api/v1/me/", token=access)
    assert status == 200, me
    status, pat, _ = first.call(
        "POST", "/api/v1/me/access-tokens/", {"name": "user-cache", "scopes": []}, access
    )
    assert status == 201, pat
    credentials = (access, pat["token"])
    try:
        for token in credentials:
            warm = every_worker(sites, workers, "/api/v1/me/", token)
            assert {status for status, _, _ in warm} == {200}
        changer = set_active(first, me["id"], False)
        for token, code in zip(credentials, ("token_revoked", "user_inactive"), strict=True):
            after = every_worker(sites, workers, "/api/v1/me/", token)
            codes = {(status, body["error"]["code"]) for status, body, _ in after}
            assert codes == {(401, code)}
            assert {pid for _, _, pid in after} - {changer}, "only the changing worker answered"
        set_active(first, me["id"], True)
        for token in (log_in(first)["access"], pat["token"]):
            again = every_worker(sites, workers, "/api/v1/me/", token)
            assert {status for status, _, _ in again} == {200}
    finally:
        set_active(first, me["id"], True)
