"""An engine created before os.fork() keeps working in the child."""

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from support import HS256_SECRET

import tessera

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork"),
    # Python 3.12+ warns on fork() with threads alive; forking with a busy
    # thread is exactly what one test here does on purpose.
    pytest.mark.filterwarnings("ignore:.*multi-threaded.*fork:DeprecationWarning"),
]


def in_child(body: Callable[[], None], timeout: float = 60.0) -> int:
    """Runs `body` in a forked child; returns its exit code (0: no exception)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            body()
            code = 0
        except BaseException as err:  # reported through the exit code
            os.write(2, f"child failed: {type(err).__name__}: {err}\n".encode())
        finally:
            os._exit(code)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail("the child did not finish")


def test_multi_process_engine_works_in_a_forked_child(db_path: Path) -> None:
    with tessera.Engine(db_path, signing_key=HS256_SECRET, multi_process=True) as engine:
        parent_pair = engine.issue("parent")

        def child() -> None:
            assert engine.verify_access(parent_pair.access)["user_id"] == "parent"
            rotated = engine.refresh(parent_pair.refresh)
            engine.verify_access(rotated.access)
            # Rotated once more, the parent's token becomes a grandparent.
            engine.refresh(rotated.refresh)
            engine.issue("child")
            engine.create_pat("child", "from-the-child")

        assert in_child(child) == 0
        # The child's writes are durable and visible to the parent.
        assert len(engine.sessions("child")) == 1
        assert [p.name for p in engine.list_pats("child")] == ["from-the-child"]
        with pytest.raises(tessera.RefreshReused):
            engine.refresh(parent_pair.refresh)
        # The parent's handle still works after the child exited.
        engine.issue("parent-again")


def test_in_memory_engine_is_copied_into_the_child(engine: tessera.Engine) -> None:
    pair = engine.issue("42")

    def child() -> None:
        engine.refresh(pair.refresh)

    assert in_child(child) == 0
    # The child's copy was its own: the parent's token is still unspent.
    engine.refresh(pair.refresh)


def test_exclusive_file_engine_refuses_cleanly_in_the_child(file_engine: tessera.Engine) -> None:
    pair = file_engine.issue("42")

    def child() -> None:
        with pytest.raises(tessera.StorageError, match="multi_process"):
            file_engine.verify_access(pair.access)

    assert in_child(child) == 0
    file_engine.verify_access(pair.access)


def test_fork_waits_for_a_call_in_another_thread(db_path: Path) -> None:
    """Forking while another thread is inside the engine leaves the child a
    usable engine: the fork hook waits for in-flight calls to finish."""
    with tessera.Engine(db_path, signing_key=HS256_SECRET, multi_process=True) as engine:
        stop = threading.Event()
        calls = 0

        def busy() -> None:
            nonlocal calls
            while not stop.is_set():
                engine.verify_access(engine.issue("busy").access)
                calls += 1

        thread = threading.Thread(target=busy)
        thread.start()
        try:
            while calls < 3:
                time.sleep(0.001)
            for _ in range(3):

                def child() -> None:
                    engine.verify_access(engine.issue("child").access)

                assert in_child(child) == 0
        finally:
            stop.set()
            thread.join()
        assert len(engine.sessions("child")) == 3
