"""The Django admin, as the operators' admin site (config/admin.py) instead of its default."""

from django.contrib.admin.apps import AdminConfig


class OperatorsAdminConfig(AdminConfig):
    default_site = "config.admin.OperatorsAdminSite"
