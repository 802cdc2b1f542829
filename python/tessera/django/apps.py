"""The Django app config: registers the system checks and the receivers that
keep settings, the engine and the user cache in step with the process."""

import importlib.util

from django.apps import AppConfig


class TesseraConfig(AppConfig):
    name = "tessera.django"
    # The module's last component, "django", would be a confusing label.
    label = "tessera"
    verbose_name = "Tessera tokens"

    def ready(self) -> None:
        from tessera.django import checks, receivers  # noqa: F401  (they register themselves)

        # drf-spectacular is optional; its extensions register on import.
        if importlib.util.find_spec("drf_spectacular") is not None:
            from tessera.django import openapi  # noqa: F401
