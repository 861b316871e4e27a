"""The next deadline carries what the access rules ask of its order (its organisations and the
health personnel it concerns) and whether it is open, so the deadline overview and the case
list's count are counted from its indexes (models.NextDeadline). Existing rows are filled in
from their orders here; from now on deadlines.refresh writes them."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Exists, OuterRef, Subquery


def fill_in(apps, schema_editor):
    NextDeadline = apps.get_model("orders", "NextDeadline")
    Order = apps.get_model("orders", "Order")
    Process = apps.get_model("viewflow", "Process")
    order = Order.objects.filter(pk=OuterRef("order_id"))
    NextDeadline.objects.update(
        issuing_authority_id=Subquery(order.values("issuing_authority_id")[:1]),
        municipality_id=Subquery(order.values("municipality_id")[:1]),
        health_personnel_id=Subquery(order.values("health_personnel_id")[:1]),
        is_open=Exists(Process.objects.filter(pk=OuterRef("order_id"), status="NEW")),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("municipalities", "0009_nodes_shared_cache"),
        ("orders", "0008_open_human_task_index"),
        ("viewflow", "0015_task_scheduled"),
    ]

    operations = [
        migrations.AddField(
            model_name="nextdeadline",
            name="health_personnel",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="municipalities.healthpersonnel",
            ),
        ),
        migrations.AddField(
            model_name="nextdeadline",
            name="is_open",
            field=models.BooleanField(default=True),
        ),
        migrations.AddField(
            model_name="nextdeadline",
            name="issuing_authority",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="municipalities.authority",
            ),
        ),
        migrations.AddField(
            model_name="nextdeadline",
            name="municipality",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="municipalities.municipality",
            ),
        ),
        migrations.RunPython(fill_in, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="nextdeadline",
            index=models.Index(
                fields=["issuing_authority", "is_open", "due"], name="orders_next_by_authority"
            ),
        ),
        migrations.AddIndex(
            model_name="nextdeadline",
            index=models.Index(
                fields=["municipality", "is_open", "due"], name="orders_next_by_municipality"
            ),
        ),
    ]
