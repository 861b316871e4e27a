from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Professional orders")

    def ready(self):
        from django.db.models.signals import post_save
        from viewflow.workflow.models import Task

        from courses.models import Measure

        from . import deadlines
        from .models import Appeal, Order
        from .notifications import tell_who_must_act

        post_save.connect(tell_who_must_act, sender=Task, dispatch_uid="orders-new-task")

        # The next deadline follows every change of the steps, the measures, the order and its
        # appeals, in the same transaction.
        def refresh_next_deadline(sender, instance, raw=False, **kwargs):
            if raw:
                return
            order_pk = instance.process_id if sender is Task else getattr(
                instance, "order_id", instance.pk
            )
            if sender is Order or sender is Task and instance.process_id:
                deadlines.refresh(order_pk)
            elif order_pk:
                deadlines.refresh(order_pk)

        for model in (Task, Measure, Order, Appeal):
            post_save.connect(
                refresh_next_deadline,
                sender=model,
                weak=False,
                dispatch_uid=f"orders-next-deadline-{model.__name__}",
            )
