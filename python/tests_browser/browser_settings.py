"""The example site as the browser tests run it: gunicorn's settings, a
short access-token lifetime, and the audit events in a file, where the tests
count refreshes and logins."""

import os
from datetime import timedelta

from gunicorn_settings import *  # noqa: F403
from gunicorn_settings import TESSERA

TESSERA = {
    **TESSERA,
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=int(os.environ["BROWSER_ACCESS_SECONDS"])),
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"event": {"format": "%(process)d %(message)s"}},
    "handlers": {
        "events": {
            "class": "logging.FileHandler",
            "filename": os.environ["BROWSER_EVENTS_LOG"],
            "formatter": "event",
        }
    },
    "loggers": {"tessera": {"handlers": ["events"], "level": "INFO", "propagate": False}},
}
