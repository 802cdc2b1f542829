"""Choosing the store: a redb file (`path`), PostgreSQL (`store=`), or memory.

The tests marked `postgres` need a server: `make postgres-test` runs them
against a throwaway cluster (tests/pg/with-postgres.sh sets
TESSERA_TEST_POSTGRES); without one they are skipped, saying so.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import HS256_SECRET

import tessera

POSTGRES = os.environ.get("TESSERA_TEST_POSTGRES")
needs_postgres = pytest.mark.skipif(
    not POSTGRES,
    reason="no PostgreSQL: TESSERA_TEST_POSTGRES is unset (make postgres-test sets it)",
)


def test_neither_path_nor_store_is_memory() -> None:
    with tessera.Engine(signing_key=HS256_SECRET) as e:
        assert e.store == "memory"
        assert repr(e).startswith("Engine(None,")
        e.issue("1")
        assert e.stats()["families"] == 1


def test_store_may_name_a_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens.redb"
    with tessera.Engine(store=str(path), signing_key=HS256_SECRET) as e:
        pair = e.issue("1")
        assert e.store == str(path)
    with tessera.Engine(path, signing_key=HS256_SECRET) as e:
        assert e.verify_refresh(pair.refresh)["user_id"] == "1"


@pytest.mark.parametrize(
    ("path", "store", "message"),
    [
        ("tokens.redb", "postgres://db/x", "not both"),
        (None, "", "store is empty"),
        (None, "   ", "store is empty"),
    ],
)
def test_bad_store_arguments(path: str | None, store: str, message: str) -> None:
    with pytest.raises(tessera.ConfigError, match=message) as info:
        tessera.Engine(path, store=store, signing_key=HS256_SECRET)
    assert info.value.code == "config_invalid"


def test_store_must_be_a_string() -> None:
    with pytest.raises(TypeError, match="store"):
        tessera.Engine(store=42, signing_key=HS256_SECRET)  # type: ignore[arg-type]


def test_unreachable_postgres_is_a_storage_error_without_the_password() -> None:
    # Port 1 on loopback refuses at once; connect_timeout bounds it anyway.
    url = "postgres://tessera:hunter2-secret@127.0.0.1:1/tokens?connect_timeout=2"
    with pytest.raises(tessera.StorageError) as info:
        tessera.Engine(store=url, signing_key=HS256_SECRET)
    assert info.value.code == "storage_error"
    assert "hunter2-secret" not in str(info.value)
    assert "hunter2-secret" not in repr(info.value)


@pytest.fixture
def pg_url() -> str:
    """The test database, with a new, empty schema of its own for each test."""
    import psycopg

    assert POSTGRES
    schema = f"t_{uuid.uuid4().hex[:12]}"
    # The engine creates tables, not schemas.
    with psycopg.connect(POSTGRES, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in POSTGRES else "?"
    # libpq's `options` sets the search path: the engine creates its tables
    # in that schema, so tests do not see each other's rows.
    return f"{POSTGRES}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[tessera.Engine]:
    with tessera.Engine(store=pg_url, signing_key=HS256_SECRET, reuse_grace=0) as e:
        yield e


@needs_postgres
def test_postgres_engine_round_trip(pg_engine: tessera.Engine, pg_url: str) -> None:
    assert pg_engine.store.startswith("postgres://")
    assert "?" not in pg_engine.store, "parameters are not shown"
    assert repr(pg_engine).startswith('Engine(store="postgres://')
    pair = pg_engine.issue(42, claims={"role": "admin"})
    assert pg_engine.verify_access(pair.access)["role"] == "admin"
    new = pg_engine.refresh(pair.refresh)
    with pytest.raises(tessera.RefreshReused):
        pg_engine.refresh(pair.refresh)
    # Reuse revoked the whole family, the new token with it.
    with pytest.raises(tessera.TokenRevoked):
        pg_engine.refresh(new.refresh)


@needs_postgres
def test_postgres_is_shared_by_two_engines(pg_engine: tessera.Engine, pg_url: str) -> None:
    with tessera.Engine(store=pg_url, signing_key=HS256_SECRET, reuse_grace=0) as other:
        pat = pg_engine.create_pat("7", "ci", scopes=["read"])
        assert other.verify_pat(pat.token).scopes == ("read",)
        assert pg_engine.revoke_pat("7", pat.id)
        with pytest.raises(tessera.PatRevoked):
            other.verify_pat(pat.token)
        pair = other.issue("7")
        assert pg_engine.revoke_user("7") == 1
        with pytest.raises(tessera.TokenRevoked):
            other.verify_access(pair.access)


@needs_postgres
def test_postgres_refresh_is_single_use_across_threads(pg_engine: tessera.Engine) -> None:
    pair = pg_engine.issue("9")
    start = threading.Barrier(16)
    outcomes: list[str] = []
    lock = threading.Lock()

    def spend() -> None:
        start.wait()
        try:
            pg_engine.refresh(pair.refresh)
            result = "ok"
        except tessera.TesseraError as e:
            result = e.code
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=spend) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(outcomes) == 16
    assert outcomes.count("ok") == 1, outcomes
    assert set(outcomes) - {"ok"} <= {"refresh_reused", "token_revoked"}, outcomes


@needs_postgres
def test_postgres_over_a_unix_socket() -> None:
    # tests/pg/with-postgres.sh puts the server's socket beside its pg_ctl.
    assert POSTGRES
    socket_dir = os.path.dirname(os.environ["TESSERA_TEST_PG_CTL"])
    port = POSTGRES.rsplit(":", 1)[1].split("/", 1)[0]
    database = POSTGRES.rsplit("/", 1)[1]
    host = socket_dir.replace("/", "%2F")
    url = f"postgres://tessera@{host}:{port}/{database}"
    with tessera.Engine(store=url, signing_key=HS256_SECRET) as e:
        pair = e.issue("5")
        assert e.verify_access(pair.access)["user_id"] == "5"
