"""Supervisors were given a bare guardian ``view_order`` permission on the whole order when
named in a plan, with no record and no end. Turn each such permission into recorded grants
(one per measure the person supervises on that order): active if the measure and the case
are still open and the supervision is not complete, otherwise ended now. The permission is
removed, so an existing install keeps no stale access. Other ``view_order`` grants (not a
supervisor's) are left as they are."""

from django.db import migrations
from django.utils import timezone

GRANTED = "Named supervisor in the plan (recorded from the earlier access grant)"
ENDED = "The supervision was complete or the case closed before access was recorded"


def _history(apps, grant, when, kind, user_id, reason):
    """simple-history does not write in migrations: write the version row ourselves."""
    Historical = apps.get_model("orders", "HistoricalSupervisionGrant")
    values = {f.attname: getattr(grant, f.attname) for f in grant._meta.concrete_fields}
    Historical.objects.create(
        **values,
        history_date=when,
        history_type=kind,
        history_user_id=user_id,
        history_change_reason=reason,
    )


def _complete(apps, measure):
    Session = apps.get_model("courses", "SupervisionSession")
    held = Session.objects.filter(measure=measure, status="held").count()
    agreed = measure.agreed_sessions or 0
    return agreed > 0 and held >= agreed and measure.report_submitted_at is not None


def forwards(apps, schema_editor):
    Permission = apps.get_model("orders", "OrderUserObjectPermission")
    Measure = apps.get_model("courses", "Measure")
    Grant = apps.get_model("orders", "SupervisionGrant")
    Order = apps.get_model("orders", "Order")
    now = timezone.now()
    granted = Permission.objects.filter(
        permission__codename="view_order", permission__content_type__app_label="orders"
    )
    for permission in granted:
        supervised = Measure.objects.filter(
            order_id=permission.content_object_id, supervisor__user_id=permission.user_id
        )
        if not supervised.exists():
            continue
        order = Order.objects.get(pk=permission.content_object_id)
        for measure in supervised:
            still_open = (
                order.status == "NEW"
                and measure.status == "planned"
                and not _complete(apps, measure)
            )
            grant = Grant.objects.create(
                order_id=order.pk,
                measure_id=measure.pk,
                user_id=permission.user_id,
                reason=GRANTED,
                granted_by_id=measure.created_by_id,
                granted_at=measure.created_at,
            )
            _history(apps, grant, measure.created_at, "+", measure.created_by_id, GRANTED)
            if not still_open:
                grant.ended_at, grant.end_reason = now, ENDED
                grant.save()
                _history(apps, grant, now, "~", None, ENDED)
        permission.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0006_supervision_grants"),
        ("courses", "0007_history_append_only"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
