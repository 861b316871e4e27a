"""App configuration that the project adjusts in Django's own apps."""

from django.contrib.admin.apps import AdminConfig
from django.contrib.staticfiles.apps import StaticFilesConfig


class StaticFiles(StaticFilesConfig):
    """collectstatic leaves out viewflow's own front end: 49 MB that no page uses (its
    viewsets are not mounted), with a stylesheet naming fonts it does not ship, which the
    hashing storage (CompressedManifestStaticFilesStorage) refuses."""

    ignore_patterns = [*StaticFilesConfig.ignore_patterns, "viewflow"]


class OperatorsAdminConfig(AdminConfig):
    """The Django admin, as the operators' admin site (config/admin.py) instead of its default."""

    default_site = "config.admin.OperatorsAdminSite"
