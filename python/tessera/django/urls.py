"""The host API, to include under a prefix::

    path("api/v1/", include("tessera.django.urls")),

URL names are in the ``tessera`` namespace: ``reverse("tessera:refresh")``.
"""

from django.urls import path

from tessera.django import secret_scanning, token_endpoints, views

app_name = "tessera"

urlpatterns = [
    path("auth/login/email/", views.EmailLoginView.as_view(), name="login-email"),
    path("auth/refresh/", views.RefreshView.as_view(), name="refresh"),
    path("auth/verify/", views.VerifyView.as_view(), name="verify"),
    path("auth/from-session/", views.SessionTokensView.as_view(), name="from-session"),
    path("auth/reauthenticate/", views.ReauthenticateView.as_view(), name="reauthenticate"),
    path("auth/logout/", views.LogoutView.as_view(), name="logout"),
    path("auth/logout-all/", views.LogoutAllView.as_view(), name="logout-all"),
    path("me/", views.MeView.as_view(), name="me"),
    path("me/access-tokens/", views.AccessTokensView.as_view(), name="access-tokens"),
    path("me/access-tokens/<str:pat_id>/", views.AccessTokenView.as_view(), name="access-token"),
    path("me/sessions/", views.SessionsView.as_view(), name="sessions"),
    path("me/sessions/<str:session_id>/", views.SessionView.as_view(), name="session"),
    # For other services: public keys, introspection, revocation, leak reports.
    path("auth/jwks.json", token_endpoints.JWKSView.as_view(), name="jwks"),
    path("auth/introspect/", token_endpoints.IntrospectView.as_view(), name="introspect"),
    path("auth/revoke/", token_endpoints.RevokeView.as_view(), name="revoke"),
    path(
        "auth/secret-scanning/github/",
        secret_scanning.GitHubSecretScanningView.as_view(),
        name="secret-scanning-github",
    ),
]
