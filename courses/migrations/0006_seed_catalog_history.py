"""The seeded courses were written without history rows; give each its starting version so
the first edit shows old → new like any other."""

from django.db import migrations
from django.utils import timezone


def forwards(apps, schema_editor):
    Course = apps.get_model("courses", "Course")
    HistoricalCourse = apps.get_model("courses", "HistoricalCourse")
    fields = [f.attname for f in Course._meta.fields]
    for course in Course.objects.exclude(pk__in=HistoricalCourse.objects.values("id")):
        HistoricalCourse.objects.create(
            **{name: getattr(course, name) for name in fields},
            history_date=timezone.now(),
            history_type="+",
            history_change_reason="Katalogen slik den ble levert",
        )


class Migration(migrations.Migration):
    dependencies = [("courses", "0005_catalog_formats")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
