"""The example site's settings plus a header naming the worker that answered,
so the multi-process tests can tell gunicorn's workers apart, and any
TESSERA keys a test passes as JSON in TESSERA_TEST_SETTINGS; its URLs add a
view that saves a user inside a worker (worker_urls.py)."""

import json
import os
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from portfolio_site.settings import *  # noqa: F403
from portfolio_site.settings import MIDDLEWARE, TESSERA

MIDDLEWARE = [*MIDDLEWARE, "gunicorn_settings.worker_pid"]
TESSERA = {**TESSERA, **json.loads(os.environ.get("TESSERA_TEST_SETTINGS", "{}"))}
# The tests name client addresses in X-Forwarded-For, as one proxy would.
TESSERA = {**TESSERA, "THROTTLE": {"NUM_PROXIES": 1}}
LOGGING = {"version": 1, "disable_existing_loggers": False}
# A view that saves a user inside a worker (test_processes.py).
ROOT_URLCONF = "worker_urls"


def worker_pid(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        response["X-Worker-Pid"] = str(os.getpid())
        return response

    return middleware
