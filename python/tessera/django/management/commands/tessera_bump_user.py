"""``manage.py tessera_bump_user <id>``: every process reads the user afresh."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandParser

from tessera.django.conf import tessera_settings
from tessera.django.users import user_changed, user_id_of


class Command(BaseCommand):
    help = (
        "Bumps a user's change stamp: every process and host stops using its cached copy of "
        "the user and reads the row afresh at its next request. Saves and deletes through "
        "Django do this by themselves; run it after changing the user table with raw SQL or "
        "QuerySet.update(). An id that matches no user (a row deleted with raw SQL) is "
        "bumped as given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user_id", help="The user's USER_ID_FIELD value (pk by default).")

    def handle(self, *args: Any, **options: Any) -> None:
        given: str = options["user_id"]
        field = tessera_settings().user_id_field
        model = get_user_model()
        try:
            user = model._default_manager.get(**{field: given})
        except (model.DoesNotExist, ValueError, TypeError, ValidationError):
            # The row is gone: the id as tokens carry it is the id as given.
            user_id: str | int = given
            note = f" (no {model._meta.label} has {field} {given!r})"
        else:
            # The id as tokens carry it ("42" and "042" find the same row).
            user_id = user_id_of(user)
            note = ""
        stamp = user_changed(user_id)
        self.stdout.write(f"User {user_id}: change stamp {stamp}{note}.")
