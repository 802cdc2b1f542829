"""The example site's URLs plus host views used by the tests."""

from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.http import Http404
from django.urls import include, path
from portfolio_site.urls import urlpatterns as site_urlpatterns
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt import views as simplejwt_views
from tessera.django import keep_token_session
from tessera.django.views import TesseraView, read_body, signup_response


class _Body(serializers.Serializer):
    title = serializers.CharField()


class HostValidationView(APIView):
    """A host view whose serializer fails: the error body comes from Tessera's handler."""

    def post(self, request: Request) -> Response:
        _Body(data=request.data).is_valid(raise_exception=True)
        return Response({})


class HostNotFoundView(APIView):
    def get(self, request: Request) -> Response:
        raise Http404


class HostSignUpView(TesseraView):
    """A site's own sign-up view, answering with a first token pair."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    def post(self, request: Request) -> Response:
        data = read_body(request, {"email": str, "password": str}, required=("email", "password"))
        user = get_user_model().objects.create_user(
            username=data["email"].split("@")[0], email=data["email"], password=data["password"]
        )
        return signup_response(request, user)


class HostPasswordView(TesseraView):
    """A site's own password change: the other token sessions end, this
    request's session stays."""

    def post(self, request: Request) -> Response:
        data = read_body(request, {"password": str}, required=("password",))
        with keep_token_session(request):
            request.user.set_password(data["password"])
            request.user.save()
        return Response(status=204)


# Django's own password views, as a site wires them.
password_urlpatterns = [
    path("password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]

# djangorestframework-simplejwt's own views, to hold the compat URLs to.
simplejwt_urlpatterns = [
    path("token/", simplejwt_views.TokenObtainPairView.as_view()),
    path("token/refresh/", simplejwt_views.TokenRefreshView.as_view()),
    path("token/verify/", simplejwt_views.TokenVerifyView.as_view()),
    path("token/blacklist/", simplejwt_views.TokenBlacklistView.as_view()),
]

urlpatterns = [
    *site_urlpatterns,
    path("host/validate/", HostValidationView.as_view()),
    path("host/missing/", HostNotFoundView.as_view()),
    path("host/signup/", HostSignUpView.as_view()),
    path("host/password/", HostPasswordView.as_view()),
    path("accounts/", include(password_urlpatterns)),
    path("api/", include("tessera.django.compat_urls")),
    path("simplejwt/", include(simplejwt_urlpatterns)),
]
