"""Give the seeded catalog its formats, themes and durations (DOMAIN.md)."""

from django.db import migrations

QUALITY_PACKAGE_DURATION = "7–8 måneder; tellende som 18 timers klinisk emnekurs"
NOKLUS_FORMATS = {
    "Kurs i laboratoriearbeid på legekontoret": "seminar",
    "Praksisbesøk og veiledning i laboratoriearbeid": "other",
    "E-læring i laboratoriearbeid": "elaering",
}


def forwards(apps, schema_editor):
    Course = apps.get_model("courses", "Course")
    for course in Course.objects.filter(provider="skil"):
        course.format = "kvalitetspakke"
        course.theme = course.title
        course.expected_duration = QUALITY_PACKAGE_DURATION
        course.save()
    for title, fmt in NOKLUS_FORMATS.items():
        Course.objects.filter(provider="noklus", title=title).update(
            format=fmt, theme="Laboratoriearbeid"
        )


class Migration(migrations.Migration):
    dependencies = [("courses", "0004_measures_in_practice")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
