"""The next deadline carries its order's own deadline, so a case list is sorted (next deadline,
then the order's deadline) and paged from the next deadlines alone (selectors.case_list).
Existing rows are filled in from their orders; from now on deadlines.refresh writes it."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_in(apps, schema_editor):
    NextDeadline = apps.get_model("orders", "NextDeadline")
    Order = apps.get_model("orders", "Order")
    NextDeadline.objects.update(
        order_deadline=Subquery(
            Order.objects.filter(pk=OuterRef("order_id")).values("deadline")[:1]
        )
    )


class Migration(migrations.Migration):
    dependencies = [("orders", "0010_open_task_statistics")]

    operations = [
        migrations.AddField(
            model_name="nextdeadline",
            name="order_deadline",
            field=models.DateField(null=True),
        ),
        migrations.RunPython(fill_in, migrations.RunPython.noop, elidable=True),
    ]
