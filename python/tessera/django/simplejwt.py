"""What djangorestframework-simplejwt leaves behind: its refresh-token blacklist.

While a site moves from simplejwt, its ``token_blacklist`` app may still
hold refresh tokens that users logged out with. Tessera accepts a refresh
token it never issued (one without ``sid``) once, so without this check a
token blacklisted before the switch would work one more time. As long as
``rest_framework_simplejwt.token_blacklist`` stays in INSTALLED_APPS, such
tokens are refused; remove the app once REFRESH_TOKEN_LIFETIME has passed
since the switch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.apps import apps

APP = "rest_framework_simplejwt.token_blacklist"


def blacklisted(claims: Mapping[str, Any]) -> bool:
    """Whether the refresh token whose verified `claims` these are was
    minted by simplejwt and blacklisted there."""
    if "sid" in claims or not apps.is_installed(APP):
        return False
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

    return bool(BlacklistedToken.objects.filter(token__jti=claims["jti"]).exists())
