"""Tessera for Django REST framework.

Add ``"tessera.django"`` to ``INSTALLED_APPS``, configure the ``TESSERA``
settings dict (see :mod:`tessera.django.conf`), list the authentication
classes from :mod:`tessera.django.authentication`, and include
``tessera.django.urls`` under your API prefix.
"""
