"""Keeps cached state in step with settings and users.

Connected when the app is ready: a change to ``TESSERA`` or ``SECRET_KEY``
(``override_settings`` in tests) closes the engine and forgets the settings
and the user cache. Saving or deleting a user (any save, any field) bumps
the user's change stamp once the database transaction commits, so every
process and host reads the row afresh at its next request: a bump before
the commit could let another process cache the old row at the new stamp.
A failed bump raises, as the save's caller would want to know that other
processes may keep serving the old row.
"""

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import router, transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from tessera.django import conf, credentials, engine, users


@receiver(setting_changed)
def _on_setting_changed(setting: str, **kwargs: Any) -> None:
    if setting in ("TESSERA", "SECRET_KEY", "BASE_DIR", "AUTH_USER_MODEL"):
        engine.close_engine()
        conf.reset()
        users.forget_users()


def _user_id_field() -> str | None:
    try:
        return conf.tessera_settings().user_id_field
    except ImproperlyConfigured:
        # No engine can open here, so no process on these settings serves
        # tokens; the system checks report why.
        return None


def _before_user_saved(sender: type, instance: Any, **kwargs: Any) -> None:
    # A save that changes USER_ID_FIELD must also bump the old value, which
    # tokens issued before it carry. The primary key never changes on save.
    field = _user_id_field()
    if field is None or field == "pk" or instance.pk is None:
        return
    old = sender._base_manager.filter(pk=instance.pk).values_list(field, flat=True).first()
    if old is not None and old != getattr(instance, field, None):
        instance._tessera_old_user_id = old


def _on_user_changed(sender: type, instance: Any, **kwargs: Any) -> None:
    field = _user_id_field()
    if field is None or getattr(instance, field, None) is None:
        return
    # The ids now: after a delete commits, the instance loses its pk.
    ids = [users.user_id_of(instance)]
    old = instance.__dict__.pop("_tessera_old_user_id", None)
    if old is not None:
        ids.append(old if isinstance(old, int) else str(old))

    def bump() -> None:
        for user_id in ids:
            users.user_changed(user_id)

    transaction.on_commit(bump, using=router.db_for_write(sender, instance=instance))


pre_save.connect(_before_user_saved, sender=settings.AUTH_USER_MODEL, weak=False)
post_save.connect(_on_user_changed, sender=settings.AUTH_USER_MODEL, weak=False)
post_delete.connect(_on_user_changed, sender=settings.AUTH_USER_MODEL, weak=False)
pre_save.connect(credentials.stored_credentials, sender=settings.AUTH_USER_MODEL, weak=False)
post_save.connect(credentials.end_sessions_if_changed, sender=settings.AUTH_USER_MODEL, weak=False)
