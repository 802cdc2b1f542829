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

    key_messages = _check_previous_keys(parsed)
    messages.extend(key_messages)
    options = parsed.engine_options()
    if key_messages:
        # Reported above; the engine is still asked about everything else.
        options["previous_signing_keys"] = ()

    # The engine is the judge of keys, algorithms, lifetimes and prefixes:
    # build a throwaway one in memory with the same options (never a
    # connection to STORE: checks run before every management command).
    try:
        with tessera.Engine(None, **options):
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


def _check_previous_keys(parsed: conf.TesseraSettings) -> list[checks.CheckMessage]:
    """A previous key must differ from the signing key and be a key of
    ``ALGORITHM``: each one is read as the engine reads keys."""
    messages: list[checks.CheckMessage] = []
    signing = _material(parsed.signing_key)
    for i, key in enumerate(parsed.previous_signing_keys):
        where = f"TESSERA['PREVIOUS_SIGNING_KEYS'][{i}]"
        if _material(key) == signing:
            messages.append(
                checks.Error(
                    f"{where} is the signing key itself.",
                    hint="A previous key is the one SIGNING_KEY held before the rotation; "
                    "`manage.py tessera_keygen --rotate` prints both lines.",
                    id="tessera.E009",
                )
            )
            continue
        # An HMAC secret is any bytes, so a PEM document would pass for one.
        looks_pem = _material(key).lstrip().startswith(b"-----BEGIN")
        symmetric = parsed.algorithm.startswith("HS")
        problem: str | None = None
        if symmetric and looks_pem:
            problem = "a PEM key, not an HMAC secret"
        else:
            try:
                tessera.Verifier.from_key(key, algorithm=parsed.algorithm)
            except (tessera.ConfigError, TypeError) as e:
                problem = str(e)
        if problem is not None:
            messages.append(
                checks.Error(
                    f"{where} is not a {parsed.algorithm} key ({problem}).",
                    hint="Previous keys must use ALGORITHM; changing the algorithm "
                    "ends every session.",
                    id="tessera.E009",
                )
            )
    return messages


def _material(key: str | bytes) -> bytes:
    """The key's bytes; a PEM document without the whitespace around it."""
    raw = key.encode() if isinstance(key, str) else key
    return raw.strip() if raw.lstrip().startswith(b"-----BEGIN") else raw
