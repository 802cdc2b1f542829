"""DRF permission classes: scopes of personal access tokens, and the
freshness of the login behind an access token (:class:`HasRecentAuth`).

Scopes limit what a PAT may do; a JWT or a session acts as the user
itself, so scopes do not restrict them::

    class ProjectsView(APIView):
        permission_classes = [IsAuthenticated, HasScope]
        required_scopes = ["projects:write"]

A PAT created through the host API without a ``scopes`` field is
unrestricted: it acts with the full rights of its user, as a knox token
does. The rule is the engine's: a PAT holding the reserved scope
``tessera.UNRESTRICTED_SCOPE`` is unrestricted (``Pat.unrestricted``), and
``Pat.missing_scopes(required)`` says what a token lacks. The API shows an
unrestricted PAT as ``"scopes": null`` and refuses the reserved scope in a
request.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured
from rest_framework.permissions import BasePermission

import tessera
from tessera.django.exceptions import TesseraAPIError

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

#: The scope an unrestricted PAT is stored with (the engine's). It lies
#: outside what a site names its scopes (``area:action``), and the host API
#: refuses it in a request, so only an unrestricted create (or a site's own
#: code, on purpose) can make such a token.
UNRESTRICTED_SCOPE = tessera.UNRESTRICTED_SCOPE


def scopes_body(pat: tessera.Pat | tessera.NewPat) -> list[str] | None:
    """A PAT's scopes as the host API shows them: None for an unrestricted one."""
    return None if pat.unrestricted else list(pat.scopes)


class HasScope(BasePermission):
    """Requires a PAT to hold every scope in the view's ``required_scopes``,
    unless it is unrestricted (created without scopes)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        pat = request.auth
        if not isinstance(pat, tessera.Pat):
            return True
        required = getattr(view, "required_scopes", None)
        if required is None or isinstance(required, str):
            raise ImproperlyConfigured(
                f"{type(view).__name__} uses HasScope but has no required_scopes list."
            )
        missing = pat.missing_scopes(required)
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


class HasRecentAuth(BasePermission):
    """Requires the credential check behind the request's access token (its
    ``auth_time``: the login or the last ``auth/reauthenticate/``) to be at
    most the view's ``max_auth_age`` seconds old; older is a 403
    ``reauthentication_required``, which the client answers by asking for
    the password and calling ``auth/reauthenticate/``::

        class DeleteAccountView(APIView):
            permission_classes = [IsAuthenticated, HasRecentAuth]
            max_auth_age = 300

    Only access tokens carry ``auth_time``: a PAT is refused with 403
    ``pat_not_allowed``, a Django session with ``reauthentication_required``.
    Rotation keeps ``auth_time``, so refreshing does not make a login recent.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        max_age = getattr(view, "max_auth_age", None)
        if not isinstance(max_age, int) or isinstance(max_age, bool) or max_age < 0:
            raise ImproperlyConfigured(
                f"{type(view).__name__} uses HasRecentAuth but has no max_auth_age "
                "(a number of seconds)."
            )
        auth = request.auth
        if isinstance(auth, tessera.Pat):
            raise TesseraAPIError("pat_not_allowed", status_code=403)
        if not request.user or not request.user.is_authenticated:
            return False
        auth_time = auth.get("auth_time") if isinstance(auth, dict) else None
        if (
            isinstance(auth_time, int)
            and not isinstance(auth_time, bool)
            and time.time() - auth_time <= max_age
        ):
            return True
        raise TesseraAPIError(
            "reauthentication_required",
            f"This action needs a login within the last {max_age} seconds; "
            "reauthenticate with your password.",
            403,
        )
