"""The portfolio API, and the single-page app that uses it.

The API views use the site's default authentication classes (a PAT, a
JWT, or the session) and `HasScope`: a personal access token needs
``portfolio:read`` to read and ``projects:write`` to add a project; a JWT
or a session acts as the user and needs no scope. Deleting a project also
needs a recent login (`HasRecentAuth`): an access token whose password
check is at most five minutes old, else 403 ``reauthentication_required``
(``POST auth/reauthenticate/`` renews it).
"""

from typing import ClassVar

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from tessera.django.permissions import HasRecentAuth, HasScope
from tessera.django.users import user_body

from portfolio.models import Project


class ProjectSerializer(serializers.ModelSerializer):
    class Meta:
        model = Project
        fields = ("id", "title", "summary", "created_at")
        read_only_fields = ("id", "created_at")


class PortfolioView(APIView):
    """``GET`` → the user and their projects."""

    permission_classes = (IsAuthenticated, HasScope)
    required_scopes: ClassVar[list[str]] = ["portfolio:read"]

    @extend_schema(
        responses=inline_serializer(
            "Portfolio",
            {"user": serializers.JSONField(), "projects": ProjectSerializer(many=True)},
        )
    )
    def get(self, request: Request) -> Response:
        projects = Project.objects.filter(owner=request.user)
        return Response(
            {
                "user": user_body(request.user),
                "projects": ProjectSerializer(projects, many=True).data,
            }
        )


class ProjectsView(APIView):
    """``POST {"title", "summary"}`` → 201 with the new project."""

    permission_classes = (IsAuthenticated, HasScope)
    required_scopes: ClassVar[list[str]] = ["projects:write"]

    @extend_schema(request=ProjectSerializer, responses={201: ProjectSerializer})
    def post(self, request: Request) -> Response:
        serializer = ProjectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer.save(owner=request.user)
        return Response(serializer.data, status=status.HTTP_201_CREATED)


class ProjectView(APIView):
    """``DELETE`` → 204: the project is gone. Needs a password check within
    the last five minutes; another user's project is a 404."""

    permission_classes = (IsAuthenticated, HasScope, HasRecentAuth)
    required_scopes: ClassVar[list[str]] = ["projects:write"]
    max_auth_age = 300

    @extend_schema(
        responses={204: None},
        parameters=[OpenApiParameter("pk", int, OpenApiParameter.PATH, description="Its id.")],
        description="Needs an access token whose login (or reauthentication) is at most "
        "5 minutes old: 403 `reauthentication_required` otherwise, and 403 "
        "`pat_not_allowed` for a personal access token.",
    )
    def delete(self, request: Request, pk: int) -> Response:
        get_object_or_404(Project, pk=pk, owner=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


@ensure_csrf_cookie
def home(request: HttpRequest) -> HttpResponse:
    """The single-page app (static/portfolio/app.js). It needs no Django
    session: a reload restores the token session from the refresh cookie,
    and the app itself shows the signed-out state and the way to /login/."""
    return render(request, "portfolio/home.html")
