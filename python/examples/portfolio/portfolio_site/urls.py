"""The site: the server-rendered login form, Tessera's API, the portfolio API."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from portfolio.forms import EmailAuthenticationForm
from tessera.django.views import not_found

from portfolio import views

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="portfolio/login.html", authentication_form=EmailAuthenticationForm
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("tessera.django.urls")),
    path("api/v1/portfolio/", views.PortfolioView.as_view(), name="portfolio"),
    path("api/v1/portfolio/projects/", views.ProjectsView.as_view(), name="projects"),
    path("api/v1/portfolio/projects/<int:pk>/", views.ProjectView.as_view(), name="project"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    # Last: every other URL under the API answers a JSON 404, DEBUG on or off.
    re_path(r"^api/v1/", not_found),
]
