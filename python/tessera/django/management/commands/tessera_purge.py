"""``manage.py tessera_purge``: removes token state that can no longer matter."""

from typing import Any

from django.core.management.base import BaseCommand

from tessera.django.engine import get_engine


class Command(BaseCommand):
    help = (
        "Removes refresh-token and session records past their expiry (plus leeway) and "
        "revoked personal access tokens past their retention. Safe to run at any time, "
        "for example daily from cron."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        removed = get_engine().purge_expired()
        self.stdout.write(f"Purged {removed} expired record{'s' if removed != 1 else ''}.")
