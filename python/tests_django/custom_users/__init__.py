"""A user model whose default manager hides some rows, for the tests that
swap ``AUTH_USER_MODEL`` to it (installed by django_settings.py only)."""
