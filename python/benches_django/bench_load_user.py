"""``load_user`` alone: the user lookup of Tessera's Django authentication
classes, in a loop, on one SQLite file (``DEBUG`` off, the cache off).

Prints the median over rounds of the time per call. The package imported is
whichever ``tessera`` comes first on ``sys.path``, so two versions of
``tessera.django`` can be compared by putting each first on ``PYTHONPATH``:

    .venv/bin/python python/benches_django/bench_load_user.py
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import django
from django.conf import settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=2000, help="per round")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="tessera-bench-load-user-"))
    settings.configure(
        SECRET_KEY="bench-only-secret-key-0123456789abcdef0123456789",
        DEBUG=False,
        USE_TZ=True,
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "rest_framework",
            "tessera.django",
        ],
        DATABASES={
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": folder / "bench.sqlite3"}
        },
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        TESSERA={"DATABASE_PATH": folder / "tessera.redb"},
    )
    django.setup()

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from tessera.django.users import load_user

    call_command("migrate", verbosity=0)
    user_id = get_user_model().objects.create_user("bench", "bench@example.com", "pw").pk

    def one_round() -> float:
        start = time.perf_counter()
        for _ in range(args.calls):
            load_user(user_id)
        return (time.perf_counter() - start) / args.calls

    one_round()  # warm-up
    seconds = statistics.median(one_round() for _ in range(args.rounds))
    print(f"load_user: {seconds * 1e6:.1f} µs per call (median of {args.rounds} rounds)")


if __name__ == "__main__":
    main()
