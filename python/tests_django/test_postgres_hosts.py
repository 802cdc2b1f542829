"""Two gunicorn instances, as two hosts behind a load balancer would run,
share one PostgreSQL database: Django's users and Tessera's tokens
(``TESSERA["STORE"] = "postgres://…"``).

Needs a PostgreSQL server: `make postgres-test` runs this file against a
throwaway cluster (tests/pg/with-postgres.sh sets TESSERA_TEST_POSTGRES).
Without one the tests are skipped, saying so.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from sites import (
    Result,
    Site,
    at_once,
    free_port,
    gunicorn,
    log_in,
    manage,
    one_successor,
    site_env,
    user_change_is_seen_by_every_worker,
)

POSTGRES = os.environ.get("TESSERA_TEST_POSTGRES")

pytestmark = [
    pytest.mark.processes,
    pytest.mark.skipif(
        not POSTGRES,
        reason="no PostgreSQL: TESSERA_TEST_POSTGRES is unset (make postgres-test sets it)",
    ),
]

WORKERS = 4
CLIENTS = 16


def fresh_database(url: str) -> str:
    """A new, empty database on the server of `url`; its URL."""
    import psycopg

    name = f"site_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    base, _, query = url.partition("?")
    return base.rsplit("/", 1)[0] + f"/{name}" + (f"?{query}" if query else "")


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, Site]]:
    assert POSTGRES
    database = fresh_database(POSTGRES)
    ports = free_port(), free_port()
    # Each instance has its own folder: nothing but PostgreSQL is shared.
    envs = [
        site_env(tmp_path_factory.mktemp(f"host{i}"), PORTFOLIO_POSTGRES=database) for i in range(2)
    ]
    manage(envs[0], "migrate", "--noinput", "-v", "0")
    manage(envs[0], "portfolio_demo", "--base-url", f"http://127.0.0.1:{ports[0]}")
    logs = [tmp_path_factory.mktemp(f"log{i}") / "gunicorn.log" for i in range(2)]
    with (
        gunicorn(envs[0], ports[0], WORKERS, logs[0]) as a,
        gunicorn(envs[1], ports[1], WORKERS, logs[1]) as b,
    ):
        yield a, b


def test_login_limit_is_shared_by_both_instances(hosts: tuple[Site, Site]) -> None:
    """Guesses spread over two hosts on one database: the 11th is refused,
    on whichever host it lands."""
    a, b = hosts
    for trial in range(5):
        account = f"hosts-{trial}@example.com"
        results = at_once(
            11,
            lambda i, account=account, trial=trial: (a, b)[i % 2].call(
                "POST",
                "/api/v1/auth/login/email/",
                {"email": account, "password": "wrong"},
                headers={"X-Forwarded-For": f"10.{trial}.1.1"},
            ),
        )
        statuses = sorted(status for status, _, _ in results)
        assert statuses == [401] * 10 + [429], (trial, statuses)


def test_concurrent_refreshes_converge_across_both_instances(hosts: tuple[Site, Site]) -> None:
    """Both hosts derive the one successor from the state they share."""
    tokens = log_in(hosts[0])

    def refresh(i: int) -> Result:
        return hosts[i % 2].call("POST", "/api/v1/auth/refresh/", {"refresh": tokens["refresh"]})

    results = at_once(CLIENTS, refresh)
    successor = one_successor(results)
    assert len({pid for _, _, pid in results}) >= 4, "the requests were not spread out"
    for site in hosts:
        status, _, _ = site.call("GET", "/api/v1/me/", token=successor["access"])
        assert status == 200
    # An older ancestor is reuse: the session ends on both instances.
    status, _, _ = hosts[1].call("POST", "/api/v1/auth/refresh/", {"refresh": successor["refresh"]})
    assert status == 200
    status, body, _ = hosts[0].call("POST", "/api/v1/auth/refresh/", {"refresh": tokens["refresh"]})
    assert (status, body["error"]["code"]) == (401, "refresh_reused")
    for site in hosts:
        status, body, _ = site.call("GET", "/api/v1/me/", token=successor["access"])
        assert (status, body["error"]["code"]) == (401, "token_revoked")


def test_a_pat_revoked_on_one_instance_is_refused_by_the_other(
    hosts: tuple[Site, Site],
) -> None:
    a, b = hosts
    access = log_in(a)["access"]
    status, new, _ = a.call(
        "POST",
        "/api/v1/me/access-tokens/",
        {"name": "two-hosts", "scopes": ["portfolio:read"]},
        access,
    )
    assert status == 201, new
    used = at_once(2 * WORKERS, lambda _: b.call("GET", "/api/v1/portfolio/", token=new["token"]))
    assert {status for status, _, _ in used} == {200}

    status, _, _ = a.call("DELETE", f"/api/v1/me/access-tokens/{new['id']}/", token=access)
    assert status == 204
    # At once: the very next requests to the other instance, on any worker.
    after = at_once(2 * WORKERS, lambda _: b.call("GET", "/api/v1/portfolio/", token=new["token"]))
    assert {(status, body["error"]["code"]) for status, body, _ in after} == {(401, "pat_revoked")}
    assert len({pid for _, _, pid in after}) >= 2


def test_a_login_on_one_instance_is_valid_on_the_other(hosts: tuple[Site, Site]) -> None:
    a, b = hosts
    tokens = log_in(b)
    status, me, _ = a.call("GET", "/api/v1/me/", token=tokens["access"])
    assert (status, me["email"]) == (200, "demo@example.com")
    status, pair, _ = a.call("POST", "/api/v1/auth/refresh/", {"refresh": tokens["refresh"]})
    assert status == 200, pair
    # Inside REUSE_GRACE, the other host answers the same successor.
    status, again, _ = b.call("POST", "/api/v1/auth/refresh/", {"refresh": tokens["refresh"]})
    assert (status, again) == (200, pair)


def test_a_user_deactivated_on_one_instance_is_refused_by_every_worker_of_both(
    hosts: tuple[Site, Site],
) -> None:
    user_change_is_seen_by_every_worker(list(hosts), WORKERS)
