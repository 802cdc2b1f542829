"""The time a throttled login takes, against a wrong password that is checked.

One process, the Django test client, Django's default password hasher
(PBKDF2-SHA256), a redb file with MULTI_PROCESS on (as under gunicorn):

- checked: ``POST auth/login/email/`` with a wrong password for an existing
  user, under the limits (each account is guessed at most 10 times): two
  counted attempts, then the hasher, then a 401;
- throttled: the same request once the (account, address) limit is spent:
  one counted attempt, refused, a 429; the hasher never runs.

    .venv/bin/python python/benches_django/bench_throttle.py [--rounds 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import django
from django.conf import settings

SECRET = "bench-only-secret-key-0123456789abcdef0123456789"
urlpatterns: list[Any] = []


def configure(folder: Path) -> None:
    settings.configure(
        SECRET_KEY=SECRET,
        DEBUG=False,
        ALLOWED_HOSTS=["testserver"],
        USE_TZ=True,
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "rest_framework",
            "tessera.django",
        ],
        MIDDLEWARE=[],
        ROOT_URLCONF=__name__,
        DATABASES={
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": folder / "bench.sqlite3"}
        },
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": [],
            "DEFAULT_PERMISSION_CLASSES": [],
            "EXCEPTION_HANDLER": "tessera.django.exceptions.exception_handler",
        },
        TESSERA={"DATABASE_PATH": folder / "tessera.redb", "THROTTLE": {"PER_ADDRESS": None}},
        # Each refusal logs a WARNING; the run makes hundreds.
        LOGGING={"version": 1, "loggers": {"tessera": {"level": "ERROR"}}},
    )
    django.setup()
    from django.urls import include, path

    urlpatterns.append(path("api/v1/", include("tessera.django.urls")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        configure(Path(folder))
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.test import Client

        call_command("migrate", verbosity=0)
        get_user_model().objects.create_user("alice", "alice@example.com", "right-password")
        client = Client()

        def login(email: str) -> tuple[int, float]:
            start = time.perf_counter()
            response = client.post(
                "/api/v1/auth/login/email/",
                {"email": email, "password": "wrong"},
                content_type="application/json",
            )
            return response.status_code, time.perf_counter() - start

        checked: list[float] = []
        throttled: list[float] = []
        for i in range(args.rounds):
            # A new address each time: every guess stays under the limit.
            client.defaults["REMOTE_ADDR"] = f"10.0.{i // 250}.{i % 250}"
            status, seconds = login("alice@example.com")
            assert status == 401, status
            checked.append(seconds)
        client.defaults["REMOTE_ADDR"] = "192.0.2.1"
        for _ in range(10):
            login("alice@example.com")
        for _ in range(args.rounds):
            status, seconds = login("alice@example.com")
            assert status == 429, status
            throttled.append(seconds)

    def line(name: str, times: list[float]) -> str:
        q = statistics.quantiles(times, n=20)
        return (
            f"| {name} | {statistics.median(times) * 1e3:.2f} ms | "
            f"{q[0] * 1e3:.2f} – {q[-1] * 1e3:.2f} ms |"
        )

    print(f"Python {sys.version.split()[0]}, Django {django.get_version()}, {args.rounds} each")
    print("| request | median | 5th – 95th percentile |")
    print("|---|---|---|")
    print(line("wrong password, checked (401)", checked))
    print(line("throttled (429), hasher not run", throttled))


if __name__ == "__main__":
    main()
