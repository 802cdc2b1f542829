"""The minimal site of `make bench-http`: bench_django.py's settings and
views (simplejwt's refresh view with rotation and blacklist, knox's
``TokenAuthentication``, the bare view), plus simplejwt's
``JWTAuthentication`` in front of a ``me`` view like Tessera's, and
Tessera's own views (``tessera/``) on this same stack. One SQLite file and
one Tessera file in ``BENCH_HTTP_DIR``.

    gunicorn http_site:application        (the site; BENCH_HTTP_DIR set)
    python http_site.py prepare N OUT     (migrate, a user, tokens -> OUT as JSON)
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, ClassVar

import bench_django

bench_django.configure(Path(os.environ["BENCH_HTTP_DIR"]))
bench_django.build_urls()

from django.contrib.auth.base_user import AbstractBaseUser  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.urls import path  # noqa: E402
from rest_framework.permissions import IsAuthenticated  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402
from rest_framework_simplejwt.authentication import JWTAuthentication  # noqa: E402


class SimpleJWTMe(APIView):
    """``GET``: the user, as Tessera's ``me`` view shows it."""

    authentication_classes: ClassVar[list[Any]] = [JWTAuthentication]
    permission_classes: ClassVar[list[Any]] = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        user: AbstractBaseUser = request.user  # type: ignore[assignment]
        return Response(
            {"id": user.pk, "email": getattr(user, "email", ""), "username": user.get_username()}
        )


bench_django.urlpatterns.append(path("simplejwt/me/", SimpleJWTMe.as_view()))

application = get_wsgi_application()


def prepare(refreshes: int, out: Path) -> None:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import transaction
    from knox.models import AuthToken
    from rest_framework_simplejwt.tokens import RefreshToken
    from tessera.django.engine import get_engine

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", "bench@example.com", "pw")
    _, knox = AuthToken.objects.create(user)
    with transaction.atomic():  # one commit for every blacklist row
        tokens = [str(RefreshToken.for_user(user)) for _ in range(refreshes)]
    access = str(RefreshToken.for_user(user).access_token)
    engine = get_engine()
    out.write_text(
        json.dumps(
            {
                "access": access,
                "knox": knox,
                "refresh": tokens,
                # Tessera on this same stack, beside its peers.
                "tessera_access": engine.issue(user.pk).access,
                "tessera_pat": engine.create_pat(user.pk, "bench").token,
            }
        )
    )


if __name__ == "__main__" and sys.argv[1:2] == ["prepare"]:
    prepare(int(sys.argv[2]), Path(sys.argv[3]))
