"""System checks: every problem with ``TESSERA`` reported at startup.

Run by ``manage.py check`` and before ``runserver``, ``migrate`` and the
other management commands. Errors (``tessera.E0xx``) stop those commands;
warnings (``tessera.W0xx``) don't.
"""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import checks
from django.core.exceptions import FieldDoesNotExist

import tessera
from tessera.django import conf

_HANDLER = "tessera.django.exceptions.exception_handler"


@checks.register("tessera")
def check_settings(
    app_configs: list[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    parsed, problems = conf.read()
    messages: list[checks.CheckMessage] = [
        checks.Error(p.msg, hint=p.hint, id=p.id) for p in problems
    ]
    if parsed is None:
        return messages

    # The engine is the judge of keys, algorithms, lifetimes and prefixes:
    # build a throwaway one in memory with the same options (never a
    # connection to STORE: checks run before every management command).
    try:
        with tessera.Engine(None, **parsed.engine_options()):
            pass
    except (tessera.ConfigError, TypeError) as e:
        hint = None
        if "SIGNING_KEY" not in getattr(settings, "TESSERA", {}):
            hint = (
                'SIGNING_KEY defaults to SECRET_KEY; set TESSERA["SIGNING_KEY"] '
                "(manage.py tessera_keygen)."
            )
        messages.append(
            checks.Error(f"TESSERA settings are refused: {e}", hint=hint, id="tessera.E004")
        )

    model = get_user_model()
    if parsed.user_id_field != "pk":
        try:
            model._meta.get_field(parsed.user_id_field)
        except FieldDoesNotExist:
            messages.append(
                checks.Error(
                    f"TESSERA['USER_ID_FIELD'] is {parsed.user_id_field!r}, "
                    f"which is not a field of {model._meta.label}.",
                    hint='Use a unique field that never changes, such as "pk" (the default).',
                    id="tessera.E006",
                )
            )

    handler = getattr(settings, "REST_FRAMEWORK", {}).get("EXCEPTION_HANDLER")
    if handler != _HANDLER:
        messages.append(
            checks.Warning(
                "Views outside tessera.django will answer authentication errors in DRF's "
                'shape ({"detail": ...}), not {"error": {"code", "message"}}.',
                hint=f'Set REST_FRAMEWORK["EXCEPTION_HANDLER"] = "{_HANDLER}".',
                id="tessera.W001",
            )
        )
    cookie = parsed.refresh_cookie
    if cookie is not None and not cookie.secure and not settings.DEBUG:
        messages.append(
            checks.Warning(
                "TESSERA['REFRESH_COOKIE']['SECURE'] is False: browsers will send the "
                "refresh token over plain HTTP.",
                hint="Set it to True (the default) outside local development.",
                id="tessera.W002",
            )
        )
    return messages
