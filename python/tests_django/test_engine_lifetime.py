"""One engine per process: opened lazily, reopened after fork, closed at exit."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import tessera
from django.contrib.auth.base_user import AbstractBaseUser
from tessera.django import engine as lifetime
from tessera.django.engine import close_engine, get_engine

HERE = Path(__file__).resolve().parent


def test_one_engine_per_process(db: None) -> None:
    assert get_engine() is get_engine()


def test_opened_lazily(db: None) -> None:
    close_engine()
    assert lifetime._engine is None
    get_engine()
    assert lifetime._engine is not None


def test_a_settings_change_reopens(settings: Any, tmp_path: Path) -> None:
    first = get_engine()
    settings.TESSERA = {**settings.TESSERA, "DATABASE_PATH": tmp_path / "other.redb"}
    assert get_engine() is not first
    assert (tmp_path / "other.redb").exists()


def test_close_is_idempotent(db: None) -> None:
    get_engine()
    close_engine()
    close_engine()
    assert lifetime._engine is None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_fork_child_reopens_database(user: AbstractBaseUser) -> None:
    parent = get_engine()
    pair = parent.issue(user.pk)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, and leave without running pytest's teardown
        code = 1
        try:
            child = get_engine()
            child.verify_access(pair.access)
            rotated = child.refresh(pair.refresh)
            child.verify_access(rotated.access)
            code = 0 if child is not parent else 2
        finally:
            os.write(write, bytes([code]))
            os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    result = os.read(read, 1)
    os.close(read)
    assert os.WEXITSTATUS(status) == 0
    assert result == b"\x00", "the child failed (1) or used the inherited engine (2)"
    # The child's rotation is visible here: the parent's token is spent.
    with pytest.raises(tessera.RefreshReused):
        parent.refresh(pair.refresh)


def test_closed_at_interpreter_exit(tmp_path: Path) -> None:
    # With MULTI_PROCESS off the file belongs to one process at a time, so a
    # second process can open it only once the first closed it. The first
    # one parks without exiting, after running the atexit hooks by hand.
    script = textwrap.dedent(
        f"""
        import atexit, os, sys, django
        from django.conf import settings
        settings.configure(
            SECRET_KEY="x" * 40,
            INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "tessera.django"],
            TESSERA={{"DATABASE_PATH": {str(tmp_path / "t.redb")!r}, "MULTI_PROCESS": False}},
        )
        django.setup()
        from tessera.django.engine import get_engine
        get_engine().issue("1")
        if sys.argv[1] == "exit":
            atexit._run_exitfuncs()
        print("ready", flush=True)
        sys.stdin.read()
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}

    def second_opens() -> bool:
        probe = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys, tessera; tessera.Engine(sys.argv[1], signing_key='x' * 40)",
                str(tmp_path / "t.redb"),
            ],
            capture_output=True,
            timeout=60,
            env=env,
        )
        return probe.returncode == 0

    for mode, expect_open in (("stay", False), ("exit", True)):
        first = subprocess.Popen(
            [sys.executable, "-c", script, mode],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        try:
            assert first.stdout is not None
            assert first.stdout.readline() == "ready\n"
            assert second_opens() is expect_open, mode
        finally:
            first.communicate("", timeout=60)
