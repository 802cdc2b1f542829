"""``manage.py tessera_stats``: what the token database holds."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tessera.django.engine import get_engine


class Command(BaseCommand):
    help = "Prints the token database's record counts and file size."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        engine = get_engine()
        stats = dict(engine.stats())
        if options["json"]:
            self.stdout.write(json.dumps(stats, sort_keys=True))
            return
        where = engine.store
        self.stdout.write(f"database: {'(in memory)' if where == 'memory' else where}")
        width = max(len(k) for k in stats)
        for key, value in stats.items():
            self.stdout.write(f"{key.ljust(width)}  {value}")
