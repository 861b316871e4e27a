"""URL map. Viewflow's own viewsets are deliberately not mounted: their lists are not scoped
per object, so every page goes through orders.access instead."""

from django.contrib.auth import views as auth_views
from django.urls import include, path, register_converter
from django.views.generic import RedirectView

from config.converters import DatabaseId, InvitationToken, MunicipalityNumber, OIDCProvider
from municipalities import oidc_views

# The apps' URLs use only these (never <str:...>): a value of another shape is a 404.
# <id:pk>: a primary key that fits the database.
register_converter(DatabaseId, "id")
# <municipality:number>: a kommunenummer.
register_converter(MunicipalityNumber, "municipality")
# <invitation:token>: an invitation link's one-time token.
register_converter(InvitationToken, "invitation")
# <oidc_provider:provider>: the name of a configured OpenID Connect provider.
register_converter(OIDCProvider, "oidc_provider")

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="orders:my_tasks", permanent=False)),
    path(
        "logg-inn/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logg-inn/oidc/<oidc_provider:provider>/", oidc_views.oidc_login, name="oidc_login"),
    path(
        "logg-inn/oidc/<oidc_provider:provider>/callback/",
        oidc_views.oidc_callback,
        name="oidc_callback",
    ),
    path("logg-ut/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("tilgangslogg/", include("orders.audit_urls", namespace="auditlog")),
    path("", include("orders.urls")),
    path("", include("municipalities.urls")),
    path("", include("courses.urls")),
]

handler400 = "orders.views.bad_request"
handler403 = "orders.views.permission_denied"
handler404 = "orders.views.page_not_found"
handler500 = "orders.views.server_error"
