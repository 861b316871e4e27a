from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MunicipalitiesConfig(AppConfig):
    name = "municipalities"
    verbose_name = _("Organisations and people")

    def ready(self):
        # The access-log receivers of the login signals (and of a user's deactivation).
        from . import login_events  # noqa: F401
