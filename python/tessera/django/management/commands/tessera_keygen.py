"""``manage.py tessera_keygen``: a new signing key, printed in settings format.

With ``--rotate``, the lines for a rotation without logouts: the new key as
``SIGNING_KEY``, and the current one first in ``PREVIOUS_SIGNING_KEYS``,
where it keeps verifying the tokens it signed.
"""

from typing import Any, ClassVar

from django.core.management.base import BaseCommand, CommandError, CommandParser

import tessera
from tessera.django import conf

ALGORITHMS = ("HS256", "HS384", "HS512", "EdDSA", "ES256")


class Command(BaseCommand):
    help = (
        "Prints a new signing key as lines for the TESSERA settings dict. Keep it secret, "
        "for example in an environment variable. Changing the key alone ends every session; "
        "--rotate prints the lines that keep the current key for verification."
    )
    # Works even while the current settings are broken: fixing them is its use.
    requires_system_checks: ClassVar[list[str]] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--algorithm",
            default=None,
            choices=ALGORITHMS,
            help="HS256 (the default) is what djangorestframework-simplejwt uses; EdDSA and "
            "ES256 let other services verify tokens with the public key alone (JWKS). "
            "With --rotate: the current ALGORITHM.",
        )
        parser.add_argument(
            "--rotate",
            action="store_true",
            help="Print a new SIGNING_KEY with the current one moved into "
            "PREVIOUS_SIGNING_KEYS, so that no one is logged out. Drop a previous key "
            "once REFRESH_TOKEN_LIFETIME has passed since the rotation.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["rotate"]:
            self.rotate(options["algorithm"])
            return
        algorithm = options["algorithm"] or "HS256"
        self.stdout.write(f'    "ALGORITHM": "{algorithm}",')
        self.stdout.write(f'    "SIGNING_KEY": {literal(tessera.generate_key(algorithm))},')

    def rotate(self, algorithm: str | None) -> None:
        parsed, problems = conf.read()
        if parsed is None:
            raise CommandError(
                "Fix the TESSERA settings before rotating: " + "; ".join(p.msg for p in problems)
            )
        if algorithm is not None and algorithm != parsed.algorithm:
            raise CommandError(
                f"A rotation keeps ALGORITHM ({parsed.algorithm}): tokens of the previous "
                f"keys must verify under it. Changing it to {algorithm} ends every session."
            )
        if parsed.algorithm not in ALGORITHMS:
            raise CommandError(f"{parsed.algorithm} keys cannot be generated; import a new one.")
        previous = [parsed.signing_key, *parsed.previous_signing_keys]
        self.stdout.write(f'    "ALGORITHM": "{parsed.algorithm}",')
        self.stdout.write(f'    "SIGNING_KEY": {literal(tessera.generate_key(parsed.algorithm))},')
        self.stdout.write(
            "    # Verify only. Drop each one once REFRESH_TOKEN_LIFETIME "
            f"({parsed.refresh_lifetime}) has passed since it was replaced."
        )
        self.stdout.write('    "PREVIOUS_SIGNING_KEYS": [')
        for key in previous:
            self.stdout.write(f"        {literal(key)},")
        self.stdout.write("    ],")


def literal(key: str | bytes) -> str:
    """A key as a Python literal; a PEM key, which spans lines, triple-quoted."""
    if isinstance(key, str) and "\n" in key.strip():
        return '"""\\\n' + key.strip() + '\n"""'
    return repr(key)
