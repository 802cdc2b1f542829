"""djangorestframework-simplejwt's token URLs, backed by Tessera: include
them where simplejwt's were, and its clients keep working unchanged::

    path("api/", include("tessera.django.compat_urls")),

gives ``api/token/``, ``api/token/refresh/``, ``api/token/verify/`` and
``api/token/blacklist/``, with simplejwt's URL names (``token_obtain_pair``,
``token_refresh``, ``token_verify``, ``token_blacklist``) and bodies. See
:mod:`tessera.django.compat_views`.
"""

from django.urls import path

from tessera.django import compat_views

urlpatterns = [
    path("token/", compat_views.TokenObtainPairView.as_view(), name="token_obtain_pair"),
    path("token/refresh/", compat_views.TokenRefreshView.as_view(), name="token_refresh"),
    path("token/verify/", compat_views.TokenVerifyView.as_view(), name="token_verify"),
    path("token/blacklist/", compat_views.TokenBlacklistView.as_view(), name="token_blacklist"),
]
