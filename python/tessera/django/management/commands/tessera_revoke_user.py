"""``manage.py tessera_revoke_user <id>``: logs a user out everywhere."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tessera.django.engine import get_engine


class Command(BaseCommand):
    help = (
        "Ends every session of a user: their refresh tokens and access tokens stop working "
        "at once, in every process. With --pats, also revokes their personal access tokens."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user_id", help="The user's USER_ID_FIELD value (pk by default).")
        parser.add_argument(
            "--pats", action="store_true", help="Also revoke the user's personal access tokens."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        engine = get_engine()
        user_id = options["user_id"]
        ended = engine.revoke_user(user_id)
        self.stdout.write(f"Logged out user {user_id}: {ended} session(s) ended.")
        if options["pats"]:
            revoked = sum(engine.revoke_pat(user_id, p.id) for p in engine.list_pats(user_id))
            self.stdout.write(f"Revoked {revoked} personal access token(s).")
