"""``manage.py tessera_revoke_user <id>``: logs a user out everywhere."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tessera.django.conf import tessera_settings
from tessera.django.engine import get_engine
from tessera.django.users import user_id_of


class Command(BaseCommand):
    help = (
        "Ends every session of a user: their refresh tokens and access tokens stop working "
        "at once, in every process. With --pats, also revokes their personal access tokens. "
        "Fails, revoking nothing, when no user has that id."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user_id", help="The user's USER_ID_FIELD value (pk by default).")
        parser.add_argument(
            "--pats", action="store_true", help="Also revoke the user's personal access tokens."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user_id = options["user_id"]
        field = tessera_settings().user_id_field
        model = get_user_model()
        try:
            user = model._default_manager.get(**{field: user_id})
        except (model.DoesNotExist, ValueError, TypeError, ValidationError):
            raise CommandError(
                f"No user has {field} {user_id!r} ({model._meta.label}); nothing was revoked."
            ) from None
        # The id as tokens carry it ("42" and "042" find the same row).
        user_id = user_id_of(user)
        engine = get_engine()
        ended = engine.revoke_user(user_id)
        self.stdout.write(f"Logged out user {user_id}: {ended} session(s) ended.")
        if options["pats"]:
            revoked = sum(engine.revoke_pat(user_id, p.id) for p in engine.list_pats(user_id))
            self.stdout.write(f"Revoked {revoked} personal access token(s).")
