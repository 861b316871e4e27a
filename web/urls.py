"""The cross-cutting pages' URLs (namespace web); the access log has its own (audit_urls)."""

from django.urls import path

from . import views

app_name = "web"

urlpatterns = [
    path("kommuner/", views.municipality_list, name="municipality_list"),
    path(
        "kommuner/<municipality:number>/", views.municipality_overview, name="municipality_overview"
    ),
    path("oppslag/helsepersonell/", views.personnel_lookup, name="personnel_lookup"),
]
