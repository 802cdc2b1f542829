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

# Engine options that the engine judges together, each group with the
# TESSERA keys it comes from. A refused configuration is tried one group at
# a time over known-good values, so that each error's hint is about the
# setting at fault (the engine's messages use its own option names).
_GROUPS: tuple[tuple[str, ...], ...] = (
    ("signing_key", "algorithm"),
    ("access_lifetime", "refresh_lifetime"),
    ("reuse_grace",),
    ("leeway",),
    ("issuer", "audience"),
    ("user_id_claim",),
    ("pat_prefix",),
    ("session_max_lifetime", "max_sessions_per_user"),
)

_SETTING = {
    "signing_key": "SIGNING_KEY",
    "algorithm": "ALGORITHM",
    "access_lifetime": "ACCESS_TOKEN_LIFETIME",
    "refresh_lifetime": "REFRESH_TOKEN_LIFETIME",
    "reuse_grace": "REUSE_GRACE",
    "leeway": "LEEWAY",
    "issuer": "ISSUER",
    "audience": "AUDIENCE",
    "user_id_claim": "USER_ID_CLAIM",
    "pat_prefix": "PAT_PREFIX",
    "session_max_lifetime": "SESSION_MAX_LIFETIME",
    "max_sessions_per_user": "MAX_SESSIONS_PER_USER",
}

# An HMAC secret long enough for HS256, used only by these trial engines.
_TRIAL_KEY = b"tessera-checks-trial-key-0123456789"

_HINTS = {
    "access_lifetime": (
        'TESSERA["ACCESS_TOKEN_LIFETIME"] and TESSERA["REFRESH_TOKEN_LIFETIME"] are positive '
        "whole seconds, at most ten years, and an access token must not outlive its session "
        "(ACCESS_TOKEN_LIFETIME <= REFRESH_TOKEN_LIFETIME)."
    ),
    "reuse_grace": (
        'TESSERA["REUSE_GRACE"] is at most 60 seconds, in whole seconds (the default '
        "is 10; 0 turns the window off)."
    ),
    "leeway": 'TESSERA["LEEWAY"] is a clock skew: whole seconds, at most one day.',
    "issuer": 'TESSERA["ISSUER"] and TESSERA["AUDIENCE"] are None (the default) or non-empty.',
    "user_id_claim": (
        'TESSERA["USER_ID_CLAIM"] names a claim of 1 to 64 bytes other than the registered '
        'ones (exp, iat, jti, ...) and "token_type"; the default is "user_id".'
    ),
    "pat_prefix": (
        'TESSERA["PAT_PREFIX"] is 2 to 32 of [a-z0-9_], starts with a letter and ends '
        'with "_", like the default "tsr_pat_".'
    ),
    "session_max_lifetime": (
        'TESSERA["SESSION_MAX_LIFETIME"] is None (the default) or positive whole seconds, '
        'at most ten years; TESSERA["MAX_SESSIONS_PER_USER"] is None (the default) or a '
        "count from 1 to 4294967295."
    ),
}


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
    messages += _engine_refusals(options)

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


def _engine_refusals(options: dict[str, Any]) -> list[checks.CheckMessage]:
    """One ``tessera.E004`` per group of settings the engine refuses, with a
    hint about those settings; one without a group when only the
    combination is refused."""
    refusal = _refusal(options)
    if refusal is None:
        return []
    # An option left out of `options` keeps the engine's default; so it
    # does in the trials.
    trial_base = {
        **options,
        **{
            name: conf.DEFAULTS[_SETTING[name]]
            for group in _GROUPS
            for name in group
            if name in options
        },
        "signing_key": _TRIAL_KEY,
    }
    messages: list[checks.CheckMessage] = []
    for group in _GROUPS:
        error = _refusal(
            {**trial_base, **{name: options[name] for name in group if name in options}}
        )
        if error is not None:
            messages.append(
                checks.Error(
                    f"TESSERA settings are refused: {error}",
                    hint=_hint(group[0], options),
                    id="tessera.E004",
                )
            )
    if not messages:
        messages.append(checks.Error(f"TESSERA settings are refused: {refusal}", id="tessera.E004"))
    return messages


def _refusal(options: dict[str, Any]) -> Exception | None:
    """Why the engine refuses `options`, or None when it accepts them."""
    try:
        with tessera.Engine(None, **options):
            return None
    except (tessera.ConfigError, TypeError) as e:
        return e


def _hint(option: str, options: dict[str, Any]) -> str:
    if option != "signing_key":
        return _HINTS[option]
    try:
        tessera.generate_key(options["algorithm"])
    except (tessera.ConfigError, TypeError):
        return (
            'TESSERA["ALGORITHM"] is one of "HS256" (the default), "HS384", "HS512", '
            '"EdDSA", "ES256" and "RS256".'
        )
    if "SIGNING_KEY" not in getattr(settings, "TESSERA", {}):
        return (
            'SIGNING_KEY defaults to SECRET_KEY; set TESSERA["SIGNING_KEY"] '
            "(manage.py tessera_keygen)."
        )
    return (
        'TESSERA["SIGNING_KEY"] must suit TESSERA["ALGORITHM"]: an HMAC secret of at least '
        "32 bytes for HS256, HS384 and HS512, a PEM private key for EdDSA, ES256 and RS256 "
        "(manage.py tessera_keygen --algorithm <ALGORITHM> makes one)."
    )


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
