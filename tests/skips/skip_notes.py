"""pytest plugin: each skipped test leaves a note for ``make test``.

The make rules load it with ``-p skip_notes`` (this folder on PYTHONPATH)
and set ``TESSERA_SKIP_DIR``; a skipped test then writes
``<dir>/<test file>/<test name>`` holding the skip reason, which
tests/skips/summary.sh lists at the end of the run. Without
``TESSERA_SKIP_DIR`` it writes nothing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    directory = os.environ.get("TESSERA_SKIP_DIR")
    if not directory or not report.skipped or hasattr(report, "wasxfail"):
        return
    path, _, test = report.nodeid.partition("::")
    # A skip's longrepr is (file, line, "Skipped: <reason>").
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    reason = reason.removeprefix("Skipped: ").replace("\n", " ")
    folder = Path(directory) / Path(path).name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / re.sub(r"[^\w.\-\[\]]", "_", test or path)).write_text(reason + "\n")
