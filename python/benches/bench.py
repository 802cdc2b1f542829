"""Tessera against the Python libraries it replaces, in one run.

    python python/benches/bench.py [--quick] [--output FILE]

Three comparisons, each over the same tokens:

- access-token verification: Engine.verify_access (signature, claims and the
  revocation read of its session) against PyJWT's jwt.decode and
  djangorestframework-simplejwt's AccessToken(raw);
- durable refresh rotation: Engine.refresh on a file against simplejwt's
  TokenRefreshSerializer with ROTATE_REFRESH_TOKENS and
  BLACKLIST_AFTER_ROTATION on SQLite (what TokenRefreshView runs);
- personal access tokens: Engine.verify_pat against django-rest-knox's
  TokenAuthentication.authenticate_credentials on SQLite.

Rounds of the contenders are interleaved, so a machine shared with other
jobs slows them alike; each figure is the median of the rounds.
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
from dataclasses import dataclass
from pathlib import Path

import django
from django.conf import settings

SECRET = "tessera-bench-hs256-secret-0123456789abcdef"


def configure_django(folder: Path) -> None:
    settings.configure(
        SECRET_KEY="tessera-bench-django-secret",
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "rest_framework",
            "rest_framework_simplejwt",
            "rest_framework_simplejwt.token_blacklist",
            "knox",
        ],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(folder / "django.sqlite3"),
            }
        },
        USE_TZ=True,
        SIMPLE_JWT={
            "ALGORITHM": "HS256",
            "SIGNING_KEY": SECRET,
            "ROTATE_REFRESH_TOKENS": True,
            "BLACKLIST_AFTER_ROTATION": True,
        },
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


@dataclass
class Contender:
    name: str
    op: Callable[[], object]
    rounds: list[float]


def race(contenders: list[Contender], per_round: int, rounds: int) -> None:
    """Times `per_round` calls of each contender, `rounds` times, interleaved."""
    for c in contenders:
        for _ in range(max(1, per_round // 10)):
            c.op()
    for _ in range(rounds):
        for c in contenders:
            start = time.perf_counter()
            for _ in range(per_round):
                c.op()
            c.rounds.append((time.perf_counter() - start) / per_round)


def micros(seconds: float) -> str:
    us = seconds * 1e6
    return f"{us:,.1f} µs" if us < 1000 else f"{us / 1000:,.2f} ms"


def table(title: str, contenders: list[Contender]) -> list[str]:
    """A Markdown table; the last column is each median over the first row's."""
    base = statistics.median(contenders[0].rounds)
    lines = [
        f"### {title}",
        "",
        "| implementation | median per call | calls/s | time relative to first row |",
        "| --- | ---: | ---: | ---: |",
    ]
    for c in contenders:
        med = statistics.median(c.rounds)
        lines.append(f"| {c.name} | {micros(med)} | {1 / med:,.0f} | {med / base:,.2f} |")
    return [*lines, ""]


def speedups(verify: list[Contender]) -> str:
    """The issue's target, stated against the numbers of this run."""
    engine, pyjwt, _, memory, stateless, shared = (statistics.median(c.rounds) for c in verify)
    return (
        f"Speed-up over PyJWT (target: at least 15x): `Engine.verify_access` {pyjwt / engine:.1f}x"
        f" on a file, {pyjwt / memory:.1f}x in memory, {pyjwt / shared:.1f}x on a"
        f" `multi_process` file; `Verifier.verify_access` {pyjwt / stateless:.1f}x."
    )


def bench_verify(folder: Path, quick: bool) -> list[Contender]:
    import jwt
    from rest_framework_simplejwt.tokens import AccessToken

    import tessera

    engine = tessera.Engine(folder / "verify.redb", signing_key=SECRET)
    memory = tessera.Engine(None, signing_key=SECRET)
    shared = tessera.Engine(folder / "verify-mp.redb", signing_key=SECRET, multi_process=True)
    stateless = tessera.Verifier.from_key(SECRET)
    token = engine.issue("42", claims={"role": "admin"}).access
    memory_token = memory.issue("42", claims={"role": "admin"}).access
    shared_token = shared.issue("42", claims={"role": "admin"}).access
    assert jwt.decode(token, SECRET, algorithms=["HS256"]) == engine.verify_access(token)
    assert AccessToken(token)["user_id"] == "42"  # type: ignore[arg-type]
    contenders = [
        Contender(
            "tessera `Engine.verify_access` (with the revocation check)",
            lambda: engine.verify_access(token),
            [],
        ),
        Contender(
            "PyJWT `jwt.decode`",
            lambda: jwt.decode(token, SECRET, algorithms=["HS256"]),
            [],
        ),
        Contender(
            "simplejwt `AccessToken(raw)`",
            lambda: AccessToken(token),  # type: ignore[arg-type]
            [],
        ),
        Contender(
            "tessera `Engine.verify_access`, in-memory store",
            lambda: memory.verify_access(memory_token),
            [],
        ),
        Contender(
            "tessera `Verifier.verify_access` (stateless, no store)",
            lambda: stateless.verify_access(token),
            [],
        ),
        Contender(
            "tessera `Engine.verify_access`, `multi_process=True` (reads the store each time)",
            lambda: shared.verify_access(shared_token),
            [],
        ),
    ]
    race(contenders, 200 if quick else 2000, 5 if quick else 15)
    return contenders


def bench_refresh(folder: Path, quick: bool) -> list[Contender]:
    from django.contrib.auth.models import User
    from django.db import transaction
    from rest_framework_simplejwt.serializers import TokenRefreshSerializer
    from rest_framework_simplejwt.tokens import RefreshToken

    import tessera

    user = User.objects.create_user("bench", password="x")
    engine = tessera.Engine(folder / "refresh.redb", signing_key=SECRET)
    state = {
        "tessera": engine.issue(str(user.pk)).refresh,
        "simplejwt": str(RefreshToken.for_user(user)),
        "atomic": str(RefreshToken.for_user(user)),
    }

    def tessera_refresh() -> None:
        state["tessera"] = engine.refresh(state["tessera"]).refresh

    def simplejwt_refresh(slot: str = "simplejwt") -> None:
        serializer = TokenRefreshSerializer(data={"refresh": state[slot]})
        serializer.is_valid(raise_exception=True)
        state[slot] = serializer.validated_data["refresh"]

    def simplejwt_atomic() -> None:
        with transaction.atomic():
            simplejwt_refresh("atomic")

    contenders = [
        Contender("tessera `Engine.refresh` (redb, durable commit)", tessera_refresh, []),
        Contender("simplejwt `TokenRefreshSerializer` (SQLite, autocommit)", simplejwt_refresh, []),
        Contender("simplejwt, same in `transaction.atomic()`", simplejwt_atomic, []),
    ]
    race(contenders, 20 if quick else 100, 5 if quick else 11)
    return contenders


def bench_pat(folder: Path, quick: bool) -> list[Contender]:
    from django.contrib.auth.models import User
    from knox.auth import TokenAuthentication
    from knox.models import AuthToken

    import tessera

    user = User.objects.create_user("pat-bench", password="x")
    _, knox_token = AuthToken.objects.create(user)
    knox_bytes = knox_token.encode()
    knox_auth = TokenAuthentication()
    assert knox_auth.authenticate_credentials(knox_bytes)[0] == user

    engine = tessera.Engine(folder / "pat.redb", signing_key=SECRET)
    pat = engine.create_pat(str(user.pk), "bench", scopes=["read"]).token
    assert engine.verify_pat(pat).user_id == str(user.pk)

    contenders = [
        Contender("tessera `Engine.verify_pat` (redb)", lambda: engine.verify_pat(pat), []),
        Contender(
            "django-rest-knox `authenticate_credentials` (SQLite)",
            lambda: knox_auth.authenticate_credentials(knox_bytes),
            [],
        ),
    ]
    race(contenders, 200 if quick else 2000, 5 if quick else 15)
    return contenders


def versions() -> str:
    from importlib.metadata import version

    names = ["tessera", "PyJWT", "Django", "djangorestframework-simplejwt", "django-rest-knox"]
    return ", ".join(f"{n} {version(n)}" for n in names)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, for a smoke run")
    parser.add_argument("--output", type=Path, help="write the results as Markdown here")
    args = parser.parse_args()

    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    with tempfile.TemporaryDirectory(prefix="tessera-bench-") as tmp:
        folder = Path(tmp)
        configure_django(folder)
        verify = bench_verify(folder, args.quick)
        refresh = bench_refresh(folder, args.quick)
        pat = bench_pat(folder, args.quick)

    load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        "## Python: tessera against PyJWT, simplejwt and knox",
        "",
        "Command: `make bench-python` (runs `python python/benches/bench.py"
        " --output build/bench-python.md` in `.venv`).",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()},"
        f" load average {load_before:.1f} before and {load_after:.1f} after the run"
        f" (the machine is shared); {versions()}.",
        "All tokens are HS256; the databases are files in a temporary folder unless a row"
        " says otherwise. Each figure is the median of interleaved rounds.",
        "",
        *table("Access-token verification", verify),
        speedups(verify),
        "",
        *table("Durable refresh rotation (single-use, with blacklist/reuse detection)", refresh),
        *table("Personal access token check", pat),
    ]
    text = "\n".join(lines)
    print(text)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
