"""Tessera for Django REST framework.

Add ``"tessera.django"`` to ``INSTALLED_APPS``, configure the ``TESSERA``
settings dict (see :mod:`tessera.django.conf`), list the authentication
classes from :mod:`tessera.django.authentication`, and include
``tessera.django.urls`` under your API prefix.

:func:`keep_token_session` keeps the token session of the request that
changes its user's password (:mod:`tessera.django.credentials`).

After a change to a user that Django's signals do not see (``QuerySet.update``,
raw SQL), call :func:`user_changed` (or ``manage.py tessera_bump_user``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tessera.django.credentials import keep_token_session

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

__all__ = ["keep_token_session", "user_changed"]


def user_changed(user: AbstractBaseUser | str | int) -> int:
    """Bumps `user`'s change stamp (a user, or its ``USER_ID_FIELD`` value):
    every process and host reads the user afresh at its next request.
    Returns the new stamp. See :func:`tessera.django.users.user_changed`."""
    # Imported here: this package is imported before Django's apps are ready.
    from tessera.django.users import user_changed as bump

    return bump(user)
