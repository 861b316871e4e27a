"""URL map. Viewflow's own viewsets are deliberately not mounted: their lists are not scoped
per object, so every page goes through orders.access instead."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, register_converter
from django.views.generic import RedirectView

from config import health
from config.converters import (
    DatabaseId,
    InvitationToken,
    MunicipalityNumber,
    OIDCProvider,
    PasswordResetToken,
    PasswordResetUser,
)
from municipalities import login_views, oidc_views

# The apps' URLs use only these (never <str:...>): a value of another shape is a 404.
# <id:pk>: a primary key that fits the database.
register_converter(DatabaseId, "id")
# <municipality:number>: a kommunenummer.
register_converter(MunicipalityNumber, "municipality")
# <invitation:token>: an invitation link's one-time token.
register_converter(InvitationToken, "invitation")
# <oidc_provider:provider>: the name of a configured OpenID Connect provider.
register_converter(OIDCProvider, "oidc_provider")
# <reset_user:uidb64>/<reset_token:token>: a password reset link (Django's own shapes).
register_converter(PasswordResetUser, "reset_user")
register_converter(PasswordResetToken, "reset_token")

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="orders:my_tasks", permanent=False)),
    path("logg-inn/", login_views.LoginView.as_view(), name="login"),
    path("logg-inn/kode/", login_views.two_factor_code, name="two_factor"),
    path("logg-inn/kode/ny/", login_views.two_factor_enrol, name="two_factor_enrol"),
    path(
        "logg-inn/glemt-passord/",
        login_views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path("logg-inn/oidc/<oidc_provider:provider>/", oidc_views.oidc_login, name="oidc_login"),
    path(
        "logg-inn/oidc/<oidc_provider:provider>/callback/",
        oidc_views.oidc_callback,
        name="oidc_callback",
    ),
    path(
        "logg-inn/glemt-passord/sendt/",
        login_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "logg-inn/nytt-passord/<reset_user:uidb64>/<reset_token:token>/",
        login_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "logg-inn/nytt-passord/ferdig/",
        login_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("okten-er-avsluttet/", login_views.session_ended, name="session_ended"),
    path("logg-ut/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", login_views.set_language, name="set_language"),
    # Answered by config.health.HealthCheckMiddleware before the other middleware; the route
    # is here so that reverse("health") and the URL tests know it.
    path(health.HEALTH_PATH.lstrip("/"), health.health, name="health"),
    path("tilgangslogg/", include("web.audit_urls", namespace="auditlog")),
    path("", include("orders.urls")),
    path("", include("web.urls")),
    path("", include("municipalities.urls")),
    path("", include("courses.urls")),
]

# The operators' admin site (config/admin.py), where the deployment wants one: the prefix is
# read once, when the URLs are loaded.
if settings.PALEGG_ADMIN_PATH:
    urlpatterns.append(path(settings.PALEGG_ADMIN_PATH, admin.site.urls))

handler400 = "web.errors.bad_request"
handler403 = "web.errors.permission_denied"
handler404 = "web.errors.page_not_found"
handler500 = "web.errors.server_error"
