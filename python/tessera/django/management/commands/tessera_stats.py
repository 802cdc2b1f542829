"""``manage.py tessera_stats``: what the token database holds."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tessera.django.conf import tessera_settings
from tessera.django.engine import close_engine, get_engine


class Command(BaseCommand):
    help = (
        "Prints the token database's record counts and size. For a redb file, file_bytes "
        "is the file's size once this command has closed it: opening the database commits "
        "a small transaction (the schema check), and redb grows the file in steps and trims "
        "freed pages at its end on close, so the size moves by a few pages while it settles, "
        "even with no token written. The record counts measure what it holds."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        engine = get_engine()
        where = engine.store
        stats = dict(engine.stats())
        path = tessera_settings().database_path
        if where != "memory" and tessera_settings().store is None and path is not None:
            # The size the file settles at: read after redb's trim on close,
            # not the size while this process holds it open.
            close_engine()
            stats["file_bytes"] = path.stat().st_size
        if options["json"]:
            self.stdout.write(json.dumps(stats, sort_keys=True))
            return
        self.stdout.write(f"database: {'(in memory)' if where == 'memory' else where}")
        width = max(len(k) for k in stats)
        for key, value in stats.items():
            self.stdout.write(f"{key.ljust(width)}  {value}")
