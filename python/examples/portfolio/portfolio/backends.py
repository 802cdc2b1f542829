"""Sign-in by email address for the /login/ form."""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest


class EmailBackend(ModelBackend):
    """Like ModelBackend, but the ``username`` credential is the email address."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> AbstractBaseUser | None:
        if not username or password is None or "@" not in username:
            return None
        model = get_user_model()
        users = list(model._default_manager.filter(email__iexact=username)[:2])
        if len(users) != 1:
            # Same work as a wrong password, so timing does not reveal the email.
            model().set_password(password)
            return None
        user = users[0]
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
