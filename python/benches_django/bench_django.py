"""Tessera's Django integration against djangorestframework-simplejwt and django-rest-knox.

One run, one process, the Django test client, one SQLite database file:

1. Refresh endpoint: Tessera's ``POST auth/refresh/`` against simplejwt's
   ``TokenRefreshView`` with ROTATE_REFRESH_TOKENS and
   BLACKLIST_AFTER_ROTATION (the blacklist app on the same SQLite file).
   Each request presents the refresh token the previous one returned.
   Tessera runs twice: with MULTI_PROCESS on (the default, for prefork
   servers) and off (one process owns the file).
2. Authentication overhead of a GET: the same trivial DRF view behind
   Tessera's PATAuthentication, behind knox's TokenAuthentication, and with
   no authentication at all; overhead = authenticated time - bare time.
   Tessera is timed reading the user row (USER_CACHE_SIZE 0), taking turns
   with knox, and then, in a phase of its own (a change of settings reopens
   the engine), with the exact user cache (the default). The authenticate()
   calls alone are timed too.

Contenders take turns (round by round for refreshes, request by request for
GETs) so that drifting machine load hits all of them alike.

    .venv/bin/python python/benches_django/bench_django.py --output build/bench-django.md
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

import django
from django.conf import settings

COMMAND = (
    "make bench-django  # = .venv/bin/python python/benches_django/bench_django.py"
    " --output build/bench-django.md"
)
SECRET = "bench-only-secret-key-0123456789abcdef0123456789"


def configure(folder: Path) -> None:
    settings.configure(
        SECRET_KEY=SECRET,
        DEBUG=False,
        ALLOWED_HOSTS=["testserver"],
        USE_TZ=True,
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "rest_framework",
            "rest_framework_simplejwt.token_blacklist",
            "knox",
            "tessera.django",
        ],
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ],
        ROOT_URLCONF=__name__,
        # Django's defaults for SQLite: rollback journal, synchronous=FULL.
        DATABASES={
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": folder / "bench.sqlite3"}
        },
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": [],
            "DEFAULT_PERMISSION_CLASSES": [],
            "EXCEPTION_HANDLER": "tessera.django.exceptions.exception_handler",
        },
        SIMPLE_JWT={
            "ROTATE_REFRESH_TOKENS": True,
            "BLACKLIST_AFTER_ROTATION": True,
            "SIGNING_KEY": SECRET,
            "ALGORITHM": "HS256",
            "ACCESS_TOKEN_LIFETIME": timedelta(minutes=15),
            "REFRESH_TOKEN_LIFETIME": timedelta(days=14),
        },
        TESSERA={"DATABASE_PATH": folder / "tessera.redb"},
        LOGGING={"version": 1, "disable_existing_loggers": False},
    )
    django.setup()


urlpatterns: list[Any] = []


def build_urls() -> None:
    from django.urls import include, path
    from knox.auth import TokenAuthentication as KnoxAuthentication
    from rest_framework.permissions import AllowAny, IsAuthenticated
    from rest_framework.request import Request
    from rest_framework.response import Response
    from rest_framework.views import APIView
    from rest_framework_simplejwt.views import TokenRefreshView
    from tessera.django.authentication import PATAuthentication

    class Bare(APIView):
        authentication_classes: ClassVar[list[Any]] = []
        permission_classes: ClassVar[list[Any]] = [AllowAny]

        def get(self, request: Request) -> Response:
            return Response({"ok": True})

    class WithPat(Bare):
        authentication_classes: ClassVar[list[Any]] = [PATAuthentication]
        permission_classes: ClassVar[list[Any]] = [IsAuthenticated]

    class WithKnox(Bare):
        authentication_classes: ClassVar[list[Any]] = [KnoxAuthentication]
        permission_classes: ClassVar[list[Any]] = [IsAuthenticated]

    urlpatterns.extend(
        [
            path("tessera/", include("tessera.django.urls")),
            path("simplejwt/refresh/", TokenRefreshView.as_view()),
            path("bare/", Bare.as_view()),
            path("pat/", WithPat.as_view()),
            path("knox/", WithKnox.as_view()),
        ]
    )


def per_request(n: int, request: Callable[[], None]) -> float:
    """Seconds per call of `request`, over `n` calls."""
    start = time.perf_counter()
    for _ in range(n):
        request()
    return (time.perf_counter() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--refreshes", type=int, default=50, help="per contender per round")
    parser.add_argument("--requests", type=int, default=3000, help="timed GETs per contender")
    parser.add_argument("--output", type=Path, help="write the Markdown fragment here")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="tessera-bench-django-"))
    configure(folder)
    build_urls()

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client, override_settings
    from knox.auth import TokenAuthentication as KnoxAuthentication
    from knox.models import AuthToken
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory
    from rest_framework_simplejwt.tokens import RefreshToken
    from tessera.django.authentication import PATAuthentication
    from tessera.django.engine import close_engine, get_engine

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", "bench@example.com", "pw")
    client = Client()
    load_at_start = os.getloadavg()

    # --- 1. Refresh endpoint.

    def simplejwt_refresher() -> Callable[[], None]:
        state = {"refresh": str(RefreshToken.for_user(user))}

        def one() -> None:
            response = client.post(
                "/simplejwt/refresh/",
                {"refresh": state["refresh"]},
                content_type="application/json",
            )
            assert response.status_code == 200, response.content
            state["refresh"] = response.json()["refresh"]

        return one

    # Each batch switches the configuration once (override_settings reopens
    # the engine), outside the timing.
    def batch_tessera(multi_process: bool, n: int) -> float:
        options = {**settings.TESSERA, "MULTI_PROCESS": multi_process}
        with override_settings(TESSERA=options):
            refresh = get_engine().issue(user.pk).refresh

            def one() -> None:
                nonlocal refresh
                response = client.post(
                    "/tessera/auth/refresh/", {"refresh": refresh}, content_type="application/json"
                )
                assert response.status_code == 200, response.content
                refresh = response.json()["refresh"]

            one()  # opens the engine outside the timing
            seconds = per_request(n, one)
            close_engine()
        return seconds

    simplejwt_one = simplejwt_refresher()
    simplejwt_one()
    refresh_rounds: dict[str, list[float]] = {"tessera_mp": [], "tessera_sp": [], "simplejwt": []}
    for r in range(args.rounds):
        refresh_rounds["tessera_mp"].append(batch_tessera(True, args.refreshes))
        refresh_rounds["simplejwt"].append(per_request(args.refreshes, simplejwt_one))
        refresh_rounds["tessera_sp"].append(batch_tessera(False, args.refreshes))
        rates = ", ".join(f"{k} {1 / v[-1]:.0f}/s" for k, v in refresh_rounds.items())
        print(f"refresh round {r + 1}/{args.rounds}: {rates}", file=sys.stderr)

    # --- 2. Authentication overhead.

    _, knox_token = AuthToken.objects.create(user)
    factory = APIRequestFactory()

    pat = get_engine().create_pat(user.pk, "bench").token
    close_engine()
    pat_header = {"HTTP_AUTHORIZATION": f"Bearer {pat}"}
    knox_header = {"HTTP_AUTHORIZATION": f"Token {knox_token}"}
    pat_request = Request(factory.get("/", **pat_header))
    knox_request = Request(factory.get("/", **knox_header))
    pat_auth, knox_auth = PATAuthentication(), KnoxAuthentication()

    def get(path: str, headers: dict[str, str]) -> Callable[[], None]:
        def one() -> None:
            response = client.get(path, **headers)
            assert response.status_code == 200, response.content

        return one

    # Requests are timed one by one, each authenticated one right after an
    # unauthenticated one: its overhead is the median difference between the
    # two, so drifting load cancels out. Calls of authenticate() alone take
    # turns in a loop of their own. knox and the uncached PAT path
    # (USER_CACHE_SIZE 0) take turns; the cached PAT path (the default) runs
    # in a phase after them, since changing settings reopens the engine.
    bare = get("/bare/", {})
    phases: list[tuple[dict[str, Any], dict[str, Callable[[], object]]]] = [
        (
            {**settings.TESSERA, "USER_CACHE_SIZE": 0},
            {
                "knox": get("/knox/", knox_header),
                "pat": get("/pat/", pat_header),
                "knox_call": lambda: knox_auth.authenticate(knox_request),
                "pat_call": lambda: pat_auth.authenticate(pat_request),
            },
        ),
        (
            dict(settings.TESSERA),
            {
                "pat_cached": get("/pat/", pat_header),
                "pat_cached_call": lambda: pat_auth.authenticate(pat_request),
            },
        ),
    ]
    auth: dict[str, list[float]] = {}

    def timed(one: Callable[[], object]) -> float:
        start = time.perf_counter()
        one()
        return time.perf_counter() - start

    for options, contenders in phases:
        requests = {k: v for k, v in contenders.items() if not k.endswith("_call")}
        calls = {k: v for k, v in contenders.items() if k.endswith("_call")}
        for name in requests:
            auth[name], auth[f"{name}_bare"] = [], []
        for name in calls:
            auth[name] = []
        with override_settings(TESSERA=options):
            for one in (*contenders.values(), bare):
                for _ in range(20):  # warm-up: engine open, pat_used write, caches
                    timed(one)
            for i in range(args.requests):
                for name, one in requests.items():
                    auth[f"{name}_bare"].append(timed(bare))
                    auth[name].append(timed(one))
                if (i + 1) % (args.requests // 4 or 1) == 0:
                    print(
                        f"auth requests {', '.join(requests)}: {i + 1}/{args.requests}",
                        file=sys.stderr,
                    )
            for _ in range(args.requests):
                for name, one in calls.items():
                    auth[name].append(timed(one))
            close_engine()
    load_at_end = os.getloadavg()

    report = render(args, refresh_rounds, auth, load_at_start, load_at_end)
    print(report)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report)
        print(f"written to {args.output}", file=sys.stderr)


def render(
    args: argparse.Namespace,
    refresh: dict[str, list[float]],
    auth: dict[str, list[float]],
    load_start: tuple[float, float, float],
    load_end: tuple[float, float, float],
) -> str:
    med = statistics.median

    def rps(key: str) -> float:
        return 1 / med(refresh[key])

    def us(seconds: float) -> str:
        return f"{seconds * 1e6:,.0f} µs"

    def overhead(key: str) -> float:
        """Median of (authenticated - the bare request just before it)."""
        return med([a - b for a, b in zip(auth[key], auth[f"{key}_bare"], strict=True)])

    packages = (
        "Django",
        "djangorestframework",
        "djangorestframework-simplejwt",
        "django-rest-knox",
        "tessera",
    )
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in packages)
    lines = [
        "## Django: refresh endpoint and PAT authentication",
        "",
        f"Command: `{COMMAND}`",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Linux {platform.release()}, "
        f"Python {platform.python_version()}; load average {load_start[0]:.1f} at the start and "
        f"{load_end[0]:.1f} at the end (the machine was shared). {versions}.",
        "",
        "One process, Django's test client, one SQLite file (Django's defaults: rollback journal, "
        "synchronous=FULL).",
        "",
        f"### Refresh endpoint ({args.rounds} rounds of {args.refreshes} chained rotations "
        "per contender)",
        "",
        "Medians over the rounds; the ratio is the median of the per-round ratios.",
        "",
        "| endpoint | requests/s | per request | vs simplejwt |",
        "|---|---:|---:|---:|",
    ]
    for key, label in (
        ("simplejwt", "simplejwt `TokenRefreshView`, rotation + blacklist"),
        ("tessera_mp", "Tessera `auth/refresh/`, `MULTI_PROCESS=True` (default)"),
        ("tessera_sp", "Tessera `auth/refresh/`, `MULTI_PROCESS=False`"),
    ):
        ratio = med([b / a for a, b in zip(refresh[key], refresh["simplejwt"], strict=True)])
        lines.append(f"| {label} | {rps(key):,.0f} | {us(med(refresh[key]))} | {ratio:.1f}× |")
    lines += [
        "",
        "Every request is durable on both sides: simplejwt's SQLite writes (blacklisting the "
        "old token's outstanding record and recording the new one) each commit with fsync; "
        "Tessera's rotation is one redb commit. Both check that the user is still active. "
        "Both are bound by fsync latency, which on a shared disk varies from run to run.",
        "",
        f"### Authentication overhead of a GET ({args.requests} requests per contender)",
        "",
        'The same DRF view returning `{"ok": true}`, with and without each authentication '
        "class. Each authenticated request is timed right after an unauthenticated one, and "
        "its overhead is the median difference between the two. `authenticate()` is the "
        "class's method alone, called on a prepared request. Times are medians.",
        "",
        "| authentication | per request | overhead | knox ÷ this | `authenticate()` alone "
        "| knox ÷ this |",
        "|---|---:|---:|---:|---:|---:|",
        f"| none | {us(med([t for k, v in auth.items() if k.endswith('_bare') for t in v]))} "
        "| | | | |",
    ]
    knox_over, knox_call = overhead("knox"), med(auth["knox_call"])
    for key, label in (
        ("knox", "knox `TokenAuthentication`"),
        ("pat", "Tessera `PATAuthentication`, user row read (`USER_CACHE_SIZE: 0`)"),
        ("pat_cached", "Tessera `PATAuthentication`, exact user cache (the default)"),
    ):
        over, call = overhead(key), med(auth[f"{key}_call"])
        lines.append(
            f"| {label} | {us(med(auth[key]))} | {us(over)} | {knox_over / over:.1f}× "
            f"| {us(call)} | {knox_call / call:.1f}× |"
        )
    lines += [
        "",
        "Knox reads its token row joined with the user row; Tessera checks the PAT's format and "
        "checksum, reads its digest record and the user's change stamp from redb in one read, "
        "and then reads the user row only when the stamp moved since this process cached it "
        "(the default; `USER_CACHE_SIZE: 0` reads it every time). A request that queries the "
        "database also pays for Django's reconnection to SQLite (CONN_MAX_AGE is 0 by "
        "default), which is why the overheads exceed the `authenticate()` times.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
