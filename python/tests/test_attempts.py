"""Attempt counters: exact across threads and forked processes, with
errors from the catalog for bad arguments."""

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support import HS256_SECRET

import tessera


def test_the_attempt_past_the_limit_is_refused(engine: tessera.Engine) -> None:
    results = [engine.record_attempt("login:a|1", 3, 60) for _ in range(4)]
    assert [r.allowed for r in results] == [True, True, True, False]
    assert [r.count for r in results] == [1, 2, 3, 3]
    assert results[2].remaining == 0
    refused = results[3]
    assert 1 <= refused.retry_after <= 60
    assert refused.resets_at == results[0].resets_at
    assert "allowed=False" in repr(refused)
    assert engine.record_attempt("login:a|2", 3, 60).allowed, "another key is unaffected"


def test_clear_and_release_give_attempts_back(engine: tessera.Engine) -> None:
    for _ in range(2):
        engine.record_attempt("k", 2, 60)
    assert not engine.record_attempt("k", 2, 60).allowed
    engine.release_attempt("k")
    assert engine.record_attempt("k", 2, 60).allowed
    engine.clear_attempts("k")
    assert engine.record_attempt("k", 2, 60).count == 1


def test_a_window_ends_and_its_counter_is_purged(engine: tessera.Engine) -> None:
    engine.record_attempt("k", 1, 1)
    refused = engine.record_attempt("k", 1, 1)
    assert not refused.allowed
    time.sleep(refused.retry_after)
    assert engine.record_attempt("k", 1, 1).allowed
    assert engine.stats()["attempt_counters"] == 1
    time.sleep(1)
    assert engine.purge_expired() == 1
    assert engine.stats()["attempt_counters"] == 0


@pytest.mark.parametrize(("key", "window"), [("", 60), ("x" * 1025, 60), ("k", 0)])
def test_bad_arguments_are_config_errors(engine: tessera.Engine, key: str, window: int) -> None:
    with pytest.raises(tessera.ConfigError) as err:
        engine.record_attempt(key, 1, window)
    assert err.value.code == "config_invalid"


def test_threads_never_exceed_the_limit(file_engine: tessera.Engine) -> None:
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: file_engine.record_attempt("t", 25, 60), range(100)))
    assert sum(r.allowed for r in results) == 25


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.filterwarnings("ignore:.*multi-threaded.*fork:DeprecationWarning")
def test_processes_share_one_count(db_path: Path) -> None:
    """Four processes, ten attempts each, one limit of 15: exactly 15 are
    allowed between them, whichever process made them."""
    with tessera.Engine(db_path, signing_key=HS256_SECRET, multi_process=True) as engine:
        read_fd, write_fd = os.pipe()
        pids = []
        for _ in range(4):
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    allowed = sum(engine.record_attempt("p", 15, 60).allowed for _ in range(10))
                    os.write(write_fd, bytes([allowed]))
                    code = 0
                finally:
                    os._exit(code)
            pids.append(pid)
        os.close(write_fd)
        for pid in pids:
            assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
        counts = os.read(read_fd, 16)
        os.close(read_fd)
        assert len(counts) == 4
        assert sum(counts) == 15
        assert not engine.record_attempt("p", 15, 60).allowed
