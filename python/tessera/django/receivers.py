"""Keeps cached state in step with settings and users.

Connected when the app is ready: a change to ``TESSERA`` or ``SECRET_KEY``
(``override_settings`` in tests) closes the engine and forgets the settings
and the user cache. Saving or deleting a user (any save, any field) bumps
the user's change stamp once the database transaction commits, so every
process and host reads the row afresh at its next request: a bump before
the commit could let another process cache the old row at the new stamp.
A save that changes the password or deactivates the user ends its sessions
instead (:mod:`tessera.django.credentials`), which bumps the stamp in the
same store transaction: one durable write, not two.
A failed bump raises, as the save's caller would want to know that other
processes may keep serving the old row.
"""

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import transaction
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


# The attribute pre_save leaves on the instance for post_save: the stored
# values, before this save, of the fields it may change that matter here.
_BEFORE = "_tessera_before_save"


def _before_user_saved(sender: type, instance: Any, **kwargs: Any) -> None:
    # One read of what post_save compares: the password hash and is_active
    # (a change ends sessions) and USER_ID_FIELD (a change must also bump
    # the old value, which tokens issued before it carry; the primary key
    # never changes on save). Only the fields this save may write. A raw
    # save (loaddata) or one of an instance built with an existing pk may
    # overwrite a row too, so only a save without a pk reads nothing.
    field = _user_id_field()
    if field is None or instance.pk is None:
        return
    fields = list(credentials.watched_fields(sender))
    if field != "pk":
        fields.append(field)
    update_fields = kwargs.get("update_fields")
    if update_fields is not None:
        fields = [f for f in fields if f in update_fields]
    if not fields:
        return
    row = sender._base_manager.using(kwargs.get("using")).filter(pk=instance.pk)
    stored = row.values(*fields).first()
    if stored is not None:
        setattr(instance, _BEFORE, stored)


def _on_user_saved(sender: type, instance: Any, **kwargs: Any) -> None:
    stored = instance.__dict__.pop(_BEFORE, None) or {}
    _after_commit(sender, instance, stored, kwargs)


def _on_user_deleted(sender: type, instance: Any, **kwargs: Any) -> None:
    _after_commit(sender, instance, {}, kwargs)


def _after_commit(sender: type, instance: Any, stored: dict[str, Any], kwargs: Any) -> None:
    """Once the transaction commits: ends the user's sessions when the save
    changed the password or deactivated the user (the revocation bumps the
    stamp), else bumps the stamp; and bumps a replaced USER_ID_FIELD value."""
    field = _user_id_field()
    if field is None or getattr(instance, field, None) is None:
        return
    # The ids now: after a delete commits, the instance loses its pk.
    user_id = users.user_id_of(instance)
    end = None if kwargs.get("raw") else credentials.sessions_to_end(sender, stored, instance)
    bumps = [] if end is not None else [user_id]
    old = stored.get(field) if field != "pk" else None
    if old is not None and old != getattr(instance, field):
        bumps.append(old if isinstance(old, int) else str(old))

    def after_commit() -> None:
        if end is not None:
            credentials.end_sessions(user_id, *end)
        for changed in bumps:
            users.user_changed(changed)

    transaction.on_commit(after_commit, using=kwargs.get("using"))


pre_save.connect(_before_user_saved, sender=settings.AUTH_USER_MODEL, weak=False)
post_save.connect(_on_user_saved, sender=settings.AUTH_USER_MODEL, weak=False)
post_delete.connect(_on_user_deleted, sender=settings.AUTH_USER_MODEL, weak=False)
