"""Requests per second over HTTP: Tessera's example site against
djangorestframework-simplejwt, django-rest-knox and a view with no
authentication, each under ``gunicorn -w 4`` (sync workers) on loopback,
driven by wrk.

Sites:
- Tessera: the example site (python/examples/portfolio) at its defaults,
  DEBUG off (``PORTFOLIO_DEBUG=0``): SQLite users, the redb token file
  shared by the workers (``MULTI_PROCESS``), the exact user cache on.
- simplejwt, knox and the floor: one minimal site (http_site.py) on
  bench_django.py's settings, each view with its own authentication class.
- Tessera on that same minimal site (its ``tessera/me/`` view, and the bare
  view behind ``PATAuthentication``), at Tessera's defaults: the same
  middleware and URL depth as its peers there, where the example site runs
  more (WhiteNoise, messages, clickjacking) and nested URLs. The ratio on
  the minimal site isolates the authentication classes; the example site's
  shows what that site serves.

Scenarios, each run for ``--duration`` seconds with ``--connections``
connections, the sites taking turns within a round (the order flips every
round), over ``--rounds`` rounds:
- JWT GET: Tessera's ``GET /api/v1/me/`` (and ``tessera/me/`` on the
  minimal site) against a ``me`` view behind simplejwt's
  ``JWTAuthentication``; all read the user (Tessera from its cache while
  the user's change stamp is unchanged);
- PAT GET: the same Tessera view with a personal access token (and, on the
  minimal site, the bare view behind ``PATAuthentication``) against the
  bare view behind knox's ``TokenAuthentication``;
- refresh: each refresh token used once (wrk's Lua script refresh.lua
  reads a file of fresh tokens): Tessera's ``auth/refresh/`` against
  simplejwt's ``TokenRefreshView`` with rotation and blacklist;
- the floor: the bare view, no authentication.

    make bench-http   # = .venv/bin/python python/benches_django/bench_http.py \
                      #   --output build/bench-http.md
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parent / "examples" / "portfolio"
LUA = HERE / "refresh.lua"
COMMAND = (
    "make bench-http  # = .venv/bin/python python/benches_django/bench_http.py"
    " --output build/bench-http.md"
)
WORKERS = 4
WRK_THREADS = 2


@dataclass
class Run:
    rps: float
    p99_ms: float
    errors: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def gunicorn(app: str, cwd: Path, env: dict[str, str], port: int, log: Path) -> Iterator[None]:
    with log.open("w") as out:
        server = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", app,
                "--workers", str(WORKERS), "--worker-class", "sync",
                "--bind", f"127.0.0.1:{port}", "--timeout", "60", "--graceful-timeout", "5",
            ],
            cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/nowhere/", timeout=5)
                except urllib.error.HTTPError:
                    break  # it answers
                except OSError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"gunicorn {app} did not start:\n{log.read_text()}")
                time.sleep(0.2)
            yield
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)


def wrk(
    url: str,
    seconds: int,
    connections: int,
    headers: dict[str, str],
    tokens: Path | None = None,
) -> Run:
    command = [
        "wrk", f"-t{WRK_THREADS}", f"-c{connections}", f"-d{seconds}s", "--latency",
        "--timeout", "10s",
    ]  # fmt: skip
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if tokens is not None:
        command += ["-s", str(LUA), url, "--", str(tokens), str(WRK_THREADS)]
    else:
        command.append(url)
    out = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=seconds + 60
    ).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\b", out, re.M)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if rps is None or p99 is None:
        raise SystemExit(f"cannot read wrk's output:\n{out}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    socket_errors = re.search(r"Socket errors:.*?timeout (\d+)", out)
    return Run(
        rps=float(rps.group(1)),
        p99_ms=float(p99.group(1)) * scale,
        errors=(int(errors.group(1)) if errors else 0)
        + (int(socket_errors.group(1)) if socket_errors else 0),
    )


def example_tokens(refreshes: int, out: Path) -> None:
    """Run inside the example site's settings: migrate, a user, its tokens."""
    import logging

    import django

    django.setup()
    # The site logs every session it starts; thousands are not news here.
    logging.getLogger("tessera").setLevel(logging.WARNING)
    from concurrent.futures import ThreadPoolExecutor

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from tessera.django.engine import get_engine

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", "bench@example.com", "pw")
    engine = get_engine()
    # Threads share durable commits (group commit): thousands of sessions
    # in seconds.
    with ThreadPoolExecutor(16) as pool:
        pairs = list(pool.map(lambda _: engine.issue(user.pk), range(refreshes)))
    out.write_text(
        json.dumps(
            {
                "access": engine.issue(user.pk).access,
                "pat": engine.create_pat(user.pk, "bench").token,
                "refresh": [p.refresh for p in pairs],
            }
        )
    )


def prepare(folder: Path, env_example: dict[str, str], env_minimal: dict[str, str], n: int):
    tokens = folder / "example-tokens.json", folder / "minimal-tokens.json"
    jobs = [
        subprocess.Popen(
            [sys.executable, __file__, "example-tokens", str(n), str(tokens[0])],
            cwd=EXAMPLE,
            env=env_example,
        ),
        subprocess.Popen(
            [sys.executable, str(HERE / "http_site.py"), "prepare", str(n), str(tokens[1])],
            cwd=HERE,
            env=env_minimal,
        ),
    ]
    for job in jobs:
        if job.wait(timeout=900) != 0:
            raise SystemExit("preparing the sites failed")
    return [json.loads(t.read_text()) for t in tokens]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=12, help="seconds per run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--refresh-tokens",
        type=int,
        help="fresh refresh tokens per site and run (default: 800 per second of --duration)",
    )
    parser.add_argument("--output", type=Path, help="write the Markdown fragment here")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: `make bench-http` installs Debian's wrk")

    folder = Path(tempfile.mkdtemp(prefix="tessera-bench-http-"))
    (folder / "example").mkdir()
    (folder / "minimal").mkdir()
    base = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env_example = {
        **base,
        "PYTHONPATH": str(EXAMPLE),
        "DJANGO_SETTINGS_MODULE": "portfolio_site.settings",
        "PORTFOLIO_DATA_DIR": str(folder / "example"),
        "PORTFOLIO_DEBUG": "0",
    }
    env_minimal = {**base, "PYTHONPATH": str(HERE), "BENCH_HTTP_DIR": str(folder / "minimal")}
    if args.refresh_tokens is None:
        # Tessera refreshes at about 500/s here: tokens must outlast a run.
        args.refresh_tokens = 800 * args.duration
    n = args.refresh_tokens * args.rounds
    print(f"preparing {n} refresh tokens per site in {folder}", file=sys.stderr)
    example, minimal = prepare(folder, env_example, env_minimal, n)
    files: dict[tuple[str, int], Path] = {}
    for name, tokens in (("tessera", example), ("simplejwt", minimal)):
        for r in range(args.rounds):
            path = folder / f"refresh-{name}-{r}.txt"
            part = tokens["refresh"][r * args.refresh_tokens : (r + 1) * args.refresh_tokens]
            path.write_text("\n".join(part) + "\n")
            files[name, r] = path

    ports = free_port(), free_port()
    t, m = (f"http://127.0.0.1:{p}" for p in ports)
    # The minimal site allows the Host "testserver" only (bench_django.py).
    host = {"Host": "testserver"}
    jwt = {"Authorization": f"Bearer {example['access']}"}
    pat = {"Authorization": f"Bearer {example['pat']}"}
    jwt_same = {**host, "Authorization": f"Bearer {minimal['tessera_access']}"}
    pat_same = {**host, "Authorization": f"Bearer {minimal['tessera_pat']}"}
    simplejwt = {**host, "Authorization": f"Bearer {minimal['access']}"}
    knox = {**host, "Authorization": f"Token {minimal['knox']}"}
    scenarios: list[tuple[str, list[tuple[str, str, dict[str, str], str | None]]]] = [
        ("floor", [("floor", f"{m}/bare/", host, None)]),
        (
            "jwt",
            [
                ("tessera", f"{t}/api/v1/me/", jwt, None),
                ("tessera-same", f"{m}/tessera/me/", jwt_same, None),
                ("simplejwt", f"{m}/simplejwt/me/", simplejwt, None),
            ],
        ),
        (
            "pat",
            [
                ("tessera", f"{t}/api/v1/me/", pat, None),
                ("tessera-same", f"{m}/pat/", pat_same, None),
                ("knox", f"{m}/knox/", knox, None),
            ],
        ),
        (
            "refresh",
            [
                ("tessera", f"{t}/api/v1/auth/refresh/", {}, "tessera"),
                ("simplejwt", f"{m}/simplejwt/refresh/", host, "simplejwt"),
            ],
        ),
    ]  # fmt: skip
    results: dict[tuple[str, str], list[Run]] = {}
    loads: list[str] = [uptime()]
    with (
        gunicorn(
            "portfolio_site.wsgi:application", EXAMPLE, env_example, ports[0], folder / "t.log"
        ),
        gunicorn("http_site:application", HERE, env_minimal, ports[1], folder / "m.log"),
    ):
        # Warm-up: every worker imports and opens what it needs.
        for _, contenders in scenarios[:3]:
            for _, url, headers, _ in contenders:
                wrk(url, 2, args.connections, headers)
        for r in range(args.rounds):
            for scenario, contenders in scenarios:
                order = contenders if r % 2 == 0 else contenders[::-1]
                for site, url, headers, tokens in order:
                    run = wrk(
                        url,
                        args.duration,
                        args.connections,
                        headers,
                        files[tokens, r] if tokens else None,
                    )
                    results.setdefault((scenario, site), []).append(run)
                    print(
                        f"round {r + 1} {scenario:8} {site:12} {run.rps:8.0f}/s "
                        f"p99 {run.p99_ms:7.1f} ms errors {run.errors}",
                        file=sys.stderr,
                    )
            loads.append(uptime())
    report = render(args, results, loads)
    print(report)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report)


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()


LABELS = {
    ("floor", "floor"): "DRF view, no authentication (the floor)",
    ("jwt", "tessera"): "JWT GET: Tessera, example site, defaults",
    ("jwt", "tessera-same"): "JWT GET: Tessera `me`, on the peers' minimal site, defaults",
    ("jwt", "simplejwt"): "JWT GET: simplejwt `JWTAuthentication`, minimal site",
    ("pat", "tessera"): "PAT GET: Tessera `PATAuthentication`, example site, defaults",
    ("pat", "tessera-same"): "PAT GET: Tessera `PATAuthentication`, bare view, minimal site",
    ("pat", "knox"): "PAT GET: knox `TokenAuthentication`, bare view, minimal site",
    ("refresh", "tessera"): "refresh: Tessera `auth/refresh/`",
    ("refresh", "simplejwt"): "refresh: simplejwt `TokenRefreshView` (rotation, blacklist)",
}
RIVALS = {"jwt": "simplejwt", "pat": "knox", "refresh": "simplejwt"}


def render(
    args: argparse.Namespace, results: dict[tuple[str, str], list[Run]], loads: list[str]
) -> str:
    from importlib import metadata

    packages = (
        "Django",
        "djangorestframework",
        "djangorestframework-simplejwt",
        "django-rest-knox",
        "gunicorn",
    )
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in packages)
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[
        0
    ]
    rounds = range(args.rounds)
    head = " | ".join(f"round {r + 1}: req/s, p99" for r in rounds)
    lines = [
        f"`{COMMAND}`",
        "",
        f"{args.connections} connections, {WRK_THREADS} wrk threads, {args.duration} s per run, "
        f"{args.rounds} rounds, sites alternating within each round; gunicorn -w {WORKERS} "
        f"(sync) on 127.0.0.1; Python {sys.version.split()[0]}; {versions}; {wrk_version}.",
        "",
        "Load (`uptime`) before the first round and after each: "
        + "; ".join(f"`{x.split('load average:')[-1].strip()}`" for x in loads)
        + ".",
        "",
        f"| | {head} | ratio per round |",
        "|---|" + "---|" * (args.rounds + 1),
    ]
    for (scenario, site), label in LABELS.items():
        runs = results.get((scenario, site), [])
        cells = " | ".join(
            f"{run.rps:,.0f}, {run.p99_ms:.1f} ms"
            + (f" ({run.errors} errors)" if run.errors else "")
            for run in runs
        )
        rival = RIVALS.get(scenario)
        ratio = ""
        if rival and site.startswith("tessera"):
            theirs = results.get((scenario, rival), [])
            ratio = ", ".join(f"{a.rps / b.rps:.2f}×" for a, b in zip(runs, theirs, strict=False))
        lines.append(f"| {label} | {cells} | {ratio} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if sys.argv[1:2] == ["example-tokens"]:
        example_tokens(int(sys.argv[2]), Path(sys.argv[3]))
    else:
        main()
