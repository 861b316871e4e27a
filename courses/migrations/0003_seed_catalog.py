"""A minimal course catalog: SKIL's kvalitetspakker and NOKLUS offerings (see DOMAIN.md)."""

from django.db import migrations

SKIL = [
    "Legemiddelgjennomgang (LMG)",
    "Antibiotikaforskrivning",
    "Vanedannende legemidler (VLM)",
    "Bedre e-konsultasjoner (EKO)",
    "Diabetes",
    "Sykmeldingsarbeid",
    "Smittevern",
    "Gjør kloke valg",
    "Gode pasientforløp for sårbare grupper",
]
NOKLUS = [
    "Kurs i laboratoriearbeid på legekontoret",
    "Praksisbesøk og veiledning i laboratoriearbeid",
    "E-læring i laboratoriearbeid",
]
KVALITETSPAKKE = (
    "SKIL kvalitetspakke: tre kollegagruppemøter, hvert med en e-læringsmodul i forkant, "
    "over om lag 7–8 måneder. Tellende som 18 timers klinisk emnekurs."
)


def seed(apps, schema_editor):
    Course = apps.get_model("courses", "Course")
    for title in SKIL:
        Course.objects.get_or_create(
            provider="skil", title=title, defaults={"description": KVALITETSPAKKE}
        )
    for title in NOKLUS:
        Course.objects.get_or_create(provider="noklus", title=title)


class Migration(migrations.Migration):
    dependencies = [("courses", "0002_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
