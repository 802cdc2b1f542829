"""``VisibleUser``: Django's ``User`` (a proxy, so the same table) whose
default manager hides every user named ``hidden-*``, as a site's manager
might hide soft-deleted users."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User, UserManager


class VisibleUserManager(UserManager):
    def get_queryset(self) -> Any:
        return super().get_queryset().exclude(username__startswith="hidden-")


class VisibleUser(User):
    objects = VisibleUserManager()

    class Meta:
        proxy = True
        app_label = "custom_users"
