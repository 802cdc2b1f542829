"""Tessera for Django REST framework.

Add ``"tessera.django"`` to ``INSTALLED_APPS``, configure the ``TESSERA``
settings dict (see :mod:`tessera.django.conf`), list the authentication
classes from :mod:`tessera.django.authentication`, and include
``tessera.django.urls`` under your API prefix.

:func:`keep_token_session` keeps the token session of the request that
changes its user's password (:mod:`tessera.django.credentials`).
"""

from tessera.django.credentials import keep_token_session

__all__ = ["keep_token_session"]
