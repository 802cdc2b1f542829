"""One engine shared by threads: single-use rotation, and the GIL released."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from support import HS256_SECRET, sleep_past

import tessera


def race_to_refresh(engine: tessera.Engine, token: str, threads: int) -> list[object]:
    """Refreshes `token` from `threads` threads released at once."""
    barrier = threading.Barrier(threads)

    def attempt(_: int) -> object:
        barrier.wait()
        try:
            return engine.refresh(token)
        except tessera.TesseraError as err:
            return err

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(attempt, range(threads)))


def test_sixteen_threads_refresh_one_token_and_all_get_one_successor(db_path: Path) -> None:
    with tessera.Engine(db_path, signing_key=HS256_SECRET) as engine:
        for _ in range(5):
            outcomes = race_to_refresh(engine, engine.issue("42").refresh, 16)
            assert all(isinstance(o, tessera.TokenPair) for o in outcomes), outcomes
            assert len({o.refresh for o in outcomes if isinstance(o, tessera.TokenPair)}) == 1
            assert len({o.access for o in outcomes if isinstance(o, tessera.TokenPair)}) == 1
        assert len(engine.sessions("42")) == 5


def test_without_a_window_exactly_one_of_sixteen_threads_wins(db_path: Path) -> None:
    with tessera.Engine(db_path, signing_key=HS256_SECRET, reuse_grace=0) as engine:
        for _ in range(5):
            outcomes = race_to_refresh(engine, engine.issue("42").refresh, 16)
            wins = [o for o in outcomes if isinstance(o, tessera.TokenPair)]
            losses = [o for o in outcomes if isinstance(o, tessera.TesseraError)]
            assert len(wins) == 1
            assert len(losses) == 15
            # The first loser detects the replay and revokes the session; later
            # ones find it revoked.
            assert {type(e) for e in losses} <= {tessera.RefreshReused, tessera.TokenRevoked}
            assert any(isinstance(e, tessera.RefreshReused) for e in losses)
            assert engine.sessions("42") == []


def test_threads_issue_and_verify_concurrently(engine: tessera.Engine) -> None:
    def work(i: int) -> str:
        pair = engine.issue(str(i))
        for _ in range(20):
            engine.verify_access(pair.access)
        return str(engine.verify_access(engine.refresh(pair.refresh).access)["user_id"])

    with ThreadPoolExecutor(8) as pool:
        assert sorted(pool.map(work, range(64)), key=int) == [str(i) for i in range(64)]


def test_the_gil_is_released_during_a_long_engine_call() -> None:
    """A Python thread keeps running while another is inside purge_expired.

    The call removes twenty thousand records, so it lasts long enough
    to look inside: the ticker must record ticks in the middle half of the
    call's span. Were the GIL held, it could not record any there.
    """
    with tessera.Engine(
        None, signing_key=HS256_SECRET, access_lifetime=1, refresh_lifetime=1
    ) as engine:
        last = None
        for i in range(10_000):
            last = engine.issue(str(i % 100))
        assert last is not None
        sleep_past(last.refresh_expires_at)

        ticks: list[float] = []
        stop = threading.Event()

        def ticker() -> None:
            while not stop.is_set():
                ticks.append(time.monotonic())

        thread = threading.Thread(target=ticker)
        thread.start()
        try:
            while not ticks:
                time.sleep(0.001)
            start = time.monotonic()
            removed = engine.purge_expired()
            end = time.monotonic()
        finally:
            stop.set()
            thread.join()

        assert removed == 10_000  # one family per session
        span = end - start
        inside = [t for t in ticks if start + span / 4 < t < end - span / 4]
        assert inside, f"no ticks during the {span:.3f}s call"
