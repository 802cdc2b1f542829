"""``manage.py tessera_keygen``: a new signing key, printed in settings format."""

from typing import Any, ClassVar

from django.core.management.base import BaseCommand, CommandParser

import tessera

ALGORITHMS = ("HS256", "HS384", "HS512", "EdDSA", "ES256")


class Command(BaseCommand):
    help = (
        "Prints a new signing key as lines for the TESSERA settings dict. Keep it secret, "
        "for example in an environment variable. Changing the key ends every session."
    )
    # Works even while the current settings are broken: fixing them is its use.
    requires_system_checks: ClassVar[list[str]] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--algorithm",
            default="HS256",
            choices=ALGORITHMS,
            help="HS256 (default) is what djangorestframework-simplejwt uses; EdDSA and ES256 "
            "let other services verify tokens with the public key alone (JWKS).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        algorithm = options["algorithm"]
        key = tessera.generate_key(algorithm)
        # A PEM key spans lines: a triple-quoted string keeps it readable.
        value = '"""\\\n' + key.strip() + '\n"""' if "\n" in key.strip() else repr(key)
        self.stdout.write(f'    "ALGORITHM": "{algorithm}",')
        self.stdout.write(f'    "SIGNING_KEY": {value},')
