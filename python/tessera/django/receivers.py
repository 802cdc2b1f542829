"""Keeps cached state in step with settings and users.

Connected when the app is ready: a change to ``TESSERA`` or ``SECRET_KEY``
(``override_settings`` in tests) closes the engine and forgets the settings
and the user cache; saving or deleting a user empties the user cache.
"""

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from tessera.django import conf, credentials, engine, users


@receiver(setting_changed)
def _on_setting_changed(setting: str, **kwargs: Any) -> None:
    if setting in ("TESSERA", "SECRET_KEY", "BASE_DIR", "AUTH_USER_MODEL"):
        engine.close_engine()
        conf.reset()
        users.forget_users()


def _on_user_changed(**kwargs: Any) -> None:
    users.forget_users()


post_save.connect(_on_user_changed, sender=settings.AUTH_USER_MODEL, weak=False)
post_delete.connect(_on_user_changed, sender=settings.AUTH_USER_MODEL, weak=False)
pre_save.connect(credentials.stored_credentials, sender=settings.AUTH_USER_MODEL, weak=False)
post_save.connect(credentials.end_sessions_if_changed, sender=settings.AUTH_USER_MODEL, weak=False)
