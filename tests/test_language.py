"""Norwegian bokmål by default; nynorsk and English on request, saved on the user's profile."""

import re
import subprocess
import tempfile
from pathlib import Path

import pytest
from django.conf import settings


def test_pages_are_norwegian_even_for_an_english_browser(world, client_for):
    page = client_for(world.caseworker).get("/oppgaver/", HTTP_ACCEPT_LANGUAGE="en-US,en")
    assert page["Content-Language"] == "nb"
    assert "Mine oppgaver" in page.content.decode()


def test_user_can_switch_to_english_and_back(world, client_for):
    client = client_for(world.caseworker)
    client.post("/i18n/setlang/", {"language": "en", "next": "/oppgaver/"})
    page = client.get("/oppgaver/")
    assert page["Content-Language"] == "en"
    assert "My tasks" in page.content.decode()
    client.post("/i18n/setlang/", {"language": "nb", "next": "/oppgaver/"})
    assert "Mine oppgaver" in client.get("/oppgaver/").content.decode()


def test_unknown_language_cookie_falls_back_to_norwegian(world, client_for):
    client = client_for(world.caseworker)
    client.cookies["django_language"] = "xx"
    assert client.get("/oppgaver/")["Content-Language"] == "nb"


# --- nynorsk, and each user's own language --------------------------------------------------


def _in(language, text):
    from django.utils import translation

    with translation.override(language):
        return translation.gettext(text)


def test_nynorsk_is_offered_beside_bokmal_and_english(world, client_for):
    page = client_for(world.caseworker).get("/oppgaver/").content.decode()
    assert 'name="language" value="nn"' in page and ">Norsk nynorsk<" in page
    assert 'name="language" value="en"' in page


def test_a_user_who_chooses_nynorsk_keeps_it_on_every_device(world, client, django_user_model):
    """The choice is saved on their profile: a new session without the cookie (another
    device) gets nynorsk too."""
    from django.test import Client

    assert _in("nn", "My tasks") != _in("nb", "My tasks")
    client.force_login(world.caseworker)
    response = client.post("/i18n/setlang/", {"language": "nn", "next": "/oppgaver/"})
    assert response.status_code == 302
    world.caseworker.refresh_from_db()
    assert world.caseworker.language == "nn"

    elsewhere = Client()
    elsewhere.force_login(world.caseworker)
    page = elsewhere.get("/oppgaver/")
    assert page["Content-Language"] == "nn"
    html = page.content.decode()
    assert '<html lang="nn">' in html
    assert _in("nn", "My tasks") in html


def test_the_saved_language_wins_over_an_old_cookie(world, client_for):
    world.leader.language = "nn"
    world.leader.save(update_fields=["language"])
    client = client_for(world.leader)
    client.cookies["django_language"] = "en"
    assert client.get("/oppgaver/")["Content-Language"] == "nn"


def test_before_login_the_cookie_decides(client):
    client.post("/i18n/setlang/", {"language": "nn", "next": "/logg-inn/"})
    assert client.get("/logg-inn/")["Content-Language"] == "nn"


def test_a_bad_language_is_ignored_and_nothing_is_saved(world, client_for):
    client = client_for(world.caseworker)
    response = client.post("/i18n/setlang/", {"language": "xx", "next": "/oppgaver/"})
    assert response.status_code == 302
    world.caseworker.refresh_from_db()
    assert world.caseworker.language == ""
    assert client.get("/oppgaver/")["Content-Language"] == "nb"


def test_a_notice_is_e_mailed_in_the_recipients_language(world, mailoutbox):
    from orders import notifications
    from orders.models import Notification
    from tests import factories

    order = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=77
    )
    world.leader.language = "nn"
    world.leader.save(update_fields=["language"])
    Notification.objects.all().delete()
    Notification.objects.create(
        recipient=world.leader, order=order, kind=Notification.Kind.NEW_TASK, key="nn-test"
    )
    mailoutbox.clear()
    assert notifications.send_pending() == 1
    (mail,) = mailoutbox
    subject = notifications.SUBJECTS[Notification.Kind.NEW_TASK]
    assert mail.subject == _in("nn", subject) != _in("nb", subject)


# --- one Norwegian date style -------------------------------------------------------------


def test_dates_and_times_are_written_the_norwegian_way_in_both_standards():
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from django.template import Context, Template
    from django.utils import translation

    template = Template('{{ d|date }}|{{ t|date:"DATETIME_FORMAT" }}|{{ t }}')
    moment = datetime(2026, 12, 1, 8, 42, tzinfo=ZoneInfo("Europe/Oslo"))
    for language in ("nb", "nn"):
        with translation.override(language):
            text = template.render(Context({"d": date(2026, 12, 1), "t": moment}))
        assert text == ("1. desember 2026|1. desember 2026 kl. 08.42|1. desember 2026 kl. 08.42"), (
            language
        )


# --- the translations are complete ----------------------------------------------------------


@pytest.mark.parametrize("language", ["nb", "nn"])
def test_every_message_is_translated_and_none_is_fuzzy(language):
    """msgfmt --check --statistics (gettext, installed by .ci/run) on the catalog, and the
    compiled catalog the site reads is the one made from it."""
    po = settings.BASE_DIR / "locale" / language / "LC_MESSAGES" / "django.po"
    compiled = po.with_suffix(".mo")
    with tempfile.TemporaryDirectory() as scratch:
        fresh = Path(scratch) / "django.mo"
        result = subprocess.run(
            ["msgfmt", "--check", "--statistics", "-o", str(fresh), str(po)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert re.fullmatch(r"\d+ translated messages\.\n", result.stderr), result.stderr
        assert fresh.read_bytes() == compiled.read_bytes(), f"{compiled} is not compiled from {po}"


def test_an_empty_form_says_what_to_fill_in_not_just_that_a_field_is_required(
    world, client_for
):
    """«Fyll inn saksnummer.», «Velg …» — never the generic «Feltet er påkrevet.»."""
    from django.utils import translation

    response = client_for(world.caseworker).post("/saker/ny/", {"case_number": ""})
    assert response.status_code == 200
    (form,) = {
        id(c["form"]): c["form"]
        for c in response.context
        if "form" in c and "case_number" in getattr(c["form"], "fields", {})
    }.values()
    with translation.override("nb"):
        generic = translation.gettext("This field is required.")
        assert form.errors["case_number"] == [
            f"Fyll inn {str(form.fields['case_number'].label).lower()}."
        ]
    html = response.content.decode()
    assert generic not in html
    assert "Fyll inn " in html


def test_counts_have_thousand_separators_in_norwegian():
    from django.template import Context, Template
    from django.utils import translation

    template = Template("{% load humanize %}{{ n|intcomma }}")
    for language in ("nb", "nn"):
        with translation.override(language):
            assert template.render(Context({"n": 1155})) == "1\u00a0155", language
