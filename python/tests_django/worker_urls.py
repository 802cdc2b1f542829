"""The example site's URLs plus a view that changes a user through the ORM
inside a gunicorn worker, for the tests of the exact user cache. Served on
loopback by the tests only."""

from django.contrib.auth import get_user_model
from django.urls import path
from portfolio_site.urls import urlpatterns as site_urlpatterns
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class UserActiveView(APIView):
    """``POST {"active": bool}``: saves the user's ``is_active`` (a plain ORM save)."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    def post(self, request: Request, pk: int) -> Response:
        user = get_user_model()._default_manager.get(pk=pk)
        user.is_active = bool(request.data["active"])
        user.save()
        return Response({"active": user.is_active})


urlpatterns = [
    *site_urlpatterns,
    path("test/users/<int:pk>/active/", UserActiveView.as_view()),
]
