from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Professional orders")

    def ready(self):
        # Wiring only. What happens when a step opens is the flow's (OrderFlow.opened) and the
        # next deadline is kept by the services that change it (orders.services), not here.
        from municipalities.appointments import register_conflict_check

        from . import access

        register_conflict_check(access.appointment_conflict)
