from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Professional orders")

    def ready(self):
        from django.db.models.signals import post_save
        from viewflow.workflow.models import Task

        from courses.models import Measure
        from municipalities.appointments import register_conflict_check

        from . import access, deadlines
        from .models import Appeal, Order
        from .notifications import tell_who_must_act

        post_save.connect(tell_who_must_act, sender=Task, dispatch_uid="orders-new-task")
        register_conflict_check(access.appointment_conflict)

        for model in (Task, Measure, Order, Appeal):
            post_save.connect(
                deadlines.refresh_after_save,
                sender=model,
                dispatch_uid=f"orders-next-deadline-{model.__name__}",
            )
