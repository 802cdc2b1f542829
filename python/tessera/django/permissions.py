"""DRF permission classes for personal access tokens.

Scopes limit what a PAT may do; a JWT or a session acts as the user
itself, so scopes do not restrict them::

    class ProjectsView(APIView):
        permission_classes = [IsAuthenticated, HasScope]
        required_scopes = ["projects:write"]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured
from rest_framework.permissions import BasePermission

import tessera
from tessera.django.exceptions import TesseraAPIError

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


class HasScope(BasePermission):
    """Requires a PAT to hold every scope in the view's ``required_scopes``."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        pat = request.auth
        if not isinstance(pat, tessera.Pat):
            return True
        required = getattr(view, "required_scopes", None)
        if required is None or isinstance(required, str):
            raise ImproperlyConfigured(
                f"{type(view).__name__} uses HasScope but has no required_scopes list."
            )
        missing = [s for s in required if s not in pat.scopes]
        if missing:
            raise TesseraAPIError(
                "permission_denied",
                "This personal access token lacks the scope " + ", ".join(missing) + ".",
                403,
            )
        return True


class DenyPAT(BasePermission):
    """Refuses requests authenticated by a PAT (403 ``pat_not_allowed``):
    for actions that need a login, such as creating another PAT."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if isinstance(request.auth, tessera.Pat):
            raise TesseraAPIError("pat_not_allowed", status_code=403)
        return True
