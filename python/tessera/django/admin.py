"""Sessions and PATs in the Django admin, on the user change page.

Sessions and PATs live in Tessera's store, not in Django models, so they
are shown through the admin's public extension points: a change-form
template section, extra admin URLs (``get_urls``), and an admin action.

- The user change page lists the user's live sessions (started, last
  refreshed, expires) and PATs (name, display prefix, scopes, created,
  last used, expires). It never shows a token or a digest.
- Buttons end one session, end every session, or revoke one PAT; the user
  list gains the action "Sign out everywhere". Each needs the ``change``
  permission on the user model, goes through the engine (whose audit
  events, :mod:`tessera.django.signals`, record it), and is written to
  the admin's history (``LogEntry``) under the acting staff user.

When ``django.contrib.admin`` is installed, the user admin registered on
``admin.site`` when this module is autodiscovered is wrapped: list
``tessera.django`` after the app that registers it. A site with its own
admin site, or that registers its user admin later, mixes
:class:`TesseraUserAdminMixin` in itself and adds the action::

    @admin.register(User, site=my_site)
    class UserAdmin(TesseraUserAdminMixin, BaseUserAdmin):
        actions = [*BaseUserAdmin.actions, "tessera_sign_out_everywhere"]
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.contrib.auth import get_user_model
from django.core import checks
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import select_template
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

import tessera
from tessera.django.engine import get_engine
from tessera.django.users import user_id_of

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.db.models import QuerySet

__all__ = ["TesseraUserAdminMixin", "wrap_user_admin"]

_TEMPLATE = "tessera/admin/user_change_form.html"


class TesseraUserAdminMixin:
    """Adds Tessera's sessions and PATs to a user ``ModelAdmin``; list it
    before the admin class it extends."""

    change_form_template: str | None = _TEMPLATE

    # Set by ModelAdmin; declared for the type checker.
    if TYPE_CHECKING:
        opts: Any
        admin_site: admin.AdminSite

        def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool: ...
        def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool: ...
        def get_object(self, request: HttpRequest, object_id: str) -> Any: ...
        def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any: ...
        def message_user(self, request: HttpRequest, message: str, level: int = ...) -> None: ...

    def get_urls(self) -> list[URLPattern]:
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap = self.admin_site.admin_view
        ours = [
            path(
                "<path:object_id>/tessera/sessions/end-all/",
                wrap(require_POST(self.tessera_end_all_view)),
                name=f"{info}_tessera_end_all",
            ),
            path(
                "<path:object_id>/tessera/sessions/<str:session_id>/end/",
                wrap(require_POST(self.tessera_end_session_view)),
                name=f"{info}_tessera_end_session",
            ),
            path(
                "<path:object_id>/tessera/pats/<str:pat_id>/revoke/",
                wrap(require_POST(self.tessera_revoke_pat_view)),
                name=f"{info}_tessera_revoke_pat",
            ),
        ]
        # Before the ModelAdmin's own: its "<object_id>/" catch-all would take them.
        return ours + super().get_urls()  # type: ignore[misc]

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        if obj is not None and change:
            context["tessera"] = self.tessera_context(request, obj)
        # The section extends whatever change form the wrapped admin uses.
        context["tessera_base_template"] = select_template(self._base_templates())
        return super().render_change_form(  # type: ignore[misc]
            request, context, add=add, change=change, form_url=form_url, obj=obj
        )

    # --- What the page shows.

    def tessera_context(self, request: HttpRequest, user: AbstractBaseUser) -> dict[str, Any]:
        """The sessions and PATs of `user`, with the URLs of their buttons."""
        can_change = self.has_change_permission(request, user)
        engine = get_engine()
        uid = user_id_of(user)
        try:
            sessions = engine.sessions(uid)
            pats = engine.list_pats(uid)
        except tessera.TesseraError as e:
            return {"error": f"The token store could not be read ({e.code}).", "can_change": False}
        object_id = quote(user.pk)
        return {
            "can_change": can_change,
            "end_all_url": self._url("tessera_end_all", object_id),
            "sessions": [
                {
                    "created_at": _time(s.created_at),
                    "last_refreshed_at": _time(s.last_refreshed_at),
                    "expires_at": _time(s.expires_at),
                    "end_url": self._url("tessera_end_session", object_id, s.family_id),
                }
                for s in sessions
            ],
            "pats": [
                {
                    "name": p.name,
                    "prefix": p.prefix,
                    "scopes": None if p.unrestricted else ", ".join(p.scopes),
                    "created_at": _time(p.created_at),
                    "last_used_at": _time(p.last_used_at),
                    "expires_at": _time(p.expires_at),
                    "revoke_url": self._url("tessera_revoke_pat", object_id, p.id),
                }
                for p in pats
            ],
        }

    # --- The actions.

    @admin.action(description="Sign out everywhere", permissions=["change"])
    def tessera_sign_out_everywhere(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        engine = get_engine()
        ended = 0
        for user in queryset:
            try:
                ended += engine.revoke_user(user_id_of(user))
            except tessera.TesseraError as e:
                self.message_user(request, f"{user}: not signed out ({e.code}).", messages.ERROR)
                continue
            self.log_change(request, user, "Signed out everywhere (every Tessera session).")
        self.message_user(request, f"Signed out everywhere: {ended} live sessions ended.")

    def tessera_end_all_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        user = self._changeable_user(request, object_id)
        try:
            ended = get_engine().revoke_user(user_id_of(user))
        except tessera.TesseraError as e:
            return self._failed(request, user, e)
        self.log_change(request, user, "Ended every Tessera session.")
        self.message_user(request, f"Ended every session of {user} ({ended} live).")
        return self._back(user)

    def tessera_end_session_view(
        self, request: HttpRequest, object_id: str, session_id: str
    ) -> HttpResponse:
        user = self._changeable_user(request, object_id)
        try:
            ended = get_engine().revoke_session(user_id_of(user), session_id)
        except tessera.ConfigError:
            raise Http404("No such session.") from None
        except tessera.TesseraError as e:
            return self._failed(request, user, e)
        if ended:
            self.log_change(request, user, f"Ended Tessera session {session_id}.")
            self.message_user(request, f"Ended a session of {user}.")
        else:
            self.message_user(request, "That session had already ended.", messages.WARNING)
        return self._back(user)

    def tessera_revoke_pat_view(
        self, request: HttpRequest, object_id: str, pat_id: str
    ) -> HttpResponse:
        user = self._changeable_user(request, object_id)
        uid = user_id_of(user)
        try:
            names = {p.id: f"{p.name} ({p.prefix}…)" for p in get_engine().list_pats(uid)}
            revoked = get_engine().revoke_pat(uid, pat_id)
        except tessera.TesseraError as e:
            return self._failed(request, user, e)
        if revoked:
            name = names.get(pat_id, pat_id)
            self.log_change(request, user, f"Revoked personal access token {name}.")
            self.message_user(request, f"Revoked the personal access token {name}.")
        else:
            self.message_user(request, "No such personal access token.", messages.WARNING)
        return self._back(user)

    # --- Helpers.

    def _changeable_user(self, request: HttpRequest, object_id: str) -> AbstractBaseUser:
        user = self.get_object(request, unquote(object_id))
        if user is None:
            raise Http404("No such user.")
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        return user  # type: ignore[no-any-return]

    def _failed(
        self, request: HttpRequest, user: AbstractBaseUser, error: tessera.TesseraError
    ) -> HttpResponse:
        self.message_user(request, f"The token store refused ({error.code}).", messages.ERROR)
        return self._back(user)

    def _back(self, user: AbstractBaseUser) -> HttpResponse:
        return HttpResponseRedirect(self._url("change", quote(user.pk)))

    def _url(self, view: str, *args: str) -> str:
        name = f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_{view}"
        return reverse(name, args=args)

    def _base_templates(self) -> list[str]:
        wrapped = super().change_form_template  # type: ignore[misc]
        app_label, model_name = self.opts.app_label, self.opts.model_name
        return [
            *([wrapped] if wrapped else []),
            f"admin/{app_label}/{model_name}/change_form.html",
            f"admin/{app_label}/change_form.html",
            "admin/change_form.html",
        ]


def wrap_user_admin(site: admin.AdminSite) -> None:
    """Replaces the user admin registered on `site` by one with
    :class:`TesseraUserAdminMixin` (once; a site without one is left alone)."""
    model = get_user_model()
    if not site.is_registered(model):
        return
    current = type(site.get_model_admin(model))
    if issubclass(current, TesseraUserAdminMixin):
        return
    actions = [*(current.actions or ()), "tessera_sign_out_everywhere"]
    wrapped = type(current.__name__, (TesseraUserAdminMixin, current), {"actions": actions})
    wrapped.__module__ = current.__module__
    site.unregister(model)
    site.register(model, wrapped)


@checks.register(checks.Tags.admin)
def check_user_admin(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Warns when the user admin on ``admin.site`` lacks the Tessera section,
    as when ``tessera.django`` comes before the app that registers it."""
    model = get_user_model()
    if not admin.site.is_registered(model):
        return []
    if isinstance(admin.site.get_model_admin(model), TesseraUserAdminMixin):
        return []
    return [
        checks.Warning(
            "The user admin does not list Tessera's sessions and personal access tokens.",
            hint="List tessera.django after the app that registers the user admin in "
            "INSTALLED_APPS, or mix tessera.django.admin.TesseraUserAdminMixin into it.",
            id="tessera.W003",
        )
    ]


def _time(timestamp: int | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, timezone.utc)


wrap_user_admin(admin.site)
