"""The access log pages for security officers, mounted at /tilgangslogg/ (namespace auditlog)."""

from django.urls import path

from . import audit_views

app_name = "auditlog"

urlpatterns = [
    path("", audit_views.search, name="search"),
    path("eksport.csv", audit_views.export, name="export"),
]
