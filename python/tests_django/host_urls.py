"""The example site's URLs plus host views used by the tests."""

from django.http import Http404
from django.urls import path
from portfolio_site.urls import urlpatterns as site_urlpatterns
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


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


urlpatterns = [
    *site_urlpatterns,
    path("host/validate/", HostValidationView.as_view()),
    path("host/missing/", HostNotFoundView.as_view()),
]
