"""The example site's settings plus a header naming the worker that answered,
so the multi-process tests can tell gunicorn's workers apart."""

import os
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from portfolio_site.settings import *  # noqa: F403
from portfolio_site.settings import MIDDLEWARE

MIDDLEWARE = [*MIDDLEWARE, "gunicorn_settings.worker_pid"]
# The tests name client addresses in X-Forwarded-For, as one proxy would.
TESSERA = {**TESSERA, "THROTTLE": {"NUM_PROXIES": 1}}  # noqa: F405
LOGGING = {"version": 1, "disable_existing_loggers": False}


def worker_pid(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        response["X-Worker-Pid"] = str(os.getpid())
        return response

    return middleware
