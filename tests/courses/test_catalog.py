"""The course catalog over HTTP: every logged-in user reads it, authority administrators add
and change courses, and a course is made inactive rather than deleted.

The world (tests/conftest.py): ``admin`` administers Statsforvalteren i Vestland; the
caseworker, the municipal leader and the GP administer nothing.
"""

import pytest

from courses.models import Course, Measure
from orders.forms import MeasureForm
from tests import factories
from tests.orders.http_flow import Driver, case_url, course_measure, form_errors

SKIL_PACKAGES = [
    "Vanedannende legemidler (VLM)",
    "Legemiddelgjennomgang (LMG)",
    "Antibiotikaforskrivning",
]
NOKLUS_OFFERINGS = [
    "Kurs i laboratoriearbeid på legekontoret",
    "Praksisbesøk og veiledning i laboratoriearbeid",
    "E-læring i laboratoriearbeid",
]
NON_ADMINISTRATORS = ["caseworker", "leader", "gp_user"]


@pytest.fixture
def admin(world):
    return factories.administrator_for(
        world.authority, username="admin", first_name="Anne", last_name="Admin"
    )


def course_data(**overrides):
    data = {
        "title": "Forskrivning av opioider",
        "provider": Course.Provider.OTHER,
        "format": Course.Format.SEMINAR,
        "theme": "Legemidler",
        "description": "Heldagsseminar om forskrivning av opioider.",
        "expected_duration": "1 dag",
        "active": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def edit_data(course, **overrides):
    """The edit form as the page shows it for ``course``, with ``overrides`` typed in."""
    data = course_data(
        title=course.title,
        provider=course.provider,
        format=course.format,
        theme=course.theme,
        description=course.description,
        expected_duration=course.expected_duration,
        active="on" if course.active else None,
    )
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def vlm():
    return Course.objects.get(provider=Course.Provider.SKIL, title="Vanedannende legemidler (VLM)")


# --- the seeded catalog ------------------------------------------------------------------


@pytest.mark.parametrize("title", SKIL_PACKAGES)
def test_seeded_catalog_has_skil_quality_packages_of_three_meetings(db, title):
    course = Course.objects.get(provider=Course.Provider.SKIL, title=title)
    assert course.format == Course.Format.QUALITY_PACKAGE
    assert course.meeting_count == 3
    assert course.active
    assert course.expected_duration
    assert course.theme == title


def test_seeded_catalog_has_noklus_offerings(db):
    noklus = Course.objects.filter(provider=Course.Provider.NOKLUS)
    assert sorted(noklus.values_list("title", flat=True)) == sorted(NOKLUS_OFFERINGS)
    assert all(course.meeting_count == 0 for course in noklus)
    assert set(noklus.values_list("theme", flat=True)) == {"Laboratoriearbeid"}


# --- reading the catalog -----------------------------------------------------------------


@pytest.mark.parametrize("role", [*NON_ADMINISTRATORS, "admin"])
def test_every_logged_in_user_reads_the_catalog(world, admin, client_for, role):
    user = admin if role == "admin" else getattr(world, role)
    page = client_for(user).get("/kurs/")
    assert page.status_code == 200
    html = page.content.decode()
    for title in SKIL_PACKAGES + NOKLUS_OFFERINGS:
        assert title in html
    assert 'href="/kurs/"' in html  # the menu link
    assert "7–8 måneder" in html  # expected duration
    assert "kollegagruppemøter" in html  # description


def test_catalog_and_course_page_need_a_login(db, client):
    for path in ("/kurs/", f"/kurs/{vlm().pk}/", "/kurs/ny/", f"/kurs/{vlm().pk}/endre/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/logg-inn/")


def test_catalog_is_grouped_by_provider(world, client_for):
    page = client_for(world.caseworker).get("/kurs/")
    html = page.content.decode()
    assert 'id="provider-skil-h"' in html and 'id="provider-noklus-h"' in html
    skil_section = html[html.index('id="provider-skil-h"') :]
    assert "Vanedannende legemidler (VLM)" in skil_section
    assert "E-læring i laboratoriearbeid" not in skil_section


def test_catalog_filters_by_provider_and_format(world, client_for):
    client = client_for(world.caseworker)
    noklus = client.get("/kurs/", {"provider": "noklus"}).context["courses"]
    assert {c.provider for c in noklus} == {"noklus"} and len(noklus) == 3
    packages = client.get("/kurs/", {"format": "kvalitetspakke"}).context["courses"]
    assert {c.title for c in packages} >= set(SKIL_PACKAGES)
    assert {c.format for c in packages} == {"kvalitetspakke"}
    elearning = client.get("/kurs/", {"provider": "noklus", "format": "elaering"})
    assert [c.title for c in elearning.context["courses"]] == ["E-læring i laboratoriearbeid"]


def test_inactive_course_is_shown_as_inactive_unless_hidden(world, admin, client_for):
    client_for(admin).post(f"/kurs/{vlm().pk}/endre/", edit_data(vlm(), active=None))
    client = client_for(world.caseworker)
    html = client.get("/kurs/").content.decode()
    row = html[html.rindex("<tr", 0, html.index("Vanedannende legemidler (VLM)")) :]
    assert row.startswith('<tr class="inactive"')
    assert 'class="tag tag-closed"' in row[: row.index("</tr>")]
    hidden = client.get("/kurs/", {"hide_inactive": "on"})
    assert "Vanedannende legemidler (VLM)" not in hidden.content.decode()
    assert "Legemiddelgjennomgang (LMG)" in hidden.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {"provider": "ukjent"},
        {"format": "<script>"},
        {"hide_inactive": "kanskje", "provider": "x" * 5000},
        {"provider": ["skil", "noklus"]},
    ],
)
def test_unknown_filter_values_are_ignored_not_an_error(world, client_for, query):
    page = client_for(world.caseworker).get("/kurs/", query)
    assert page.status_code == 200


def test_catalog_queries_do_not_grow_with_courses(
    world, admin, client_for, django_assert_max_num_queries
):
    client = client_for(admin)
    for n in range(30):
        client.post("/kurs/ny/", course_data(title=f"Kurs {n}"))
    with django_assert_max_num_queries(8):
        page = client.get("/kurs/")
    assert len(page.context["courses"]) >= 42


def test_course_page_shows_details(world, client_for):
    page = client_for(world.gp_user).get(f"/kurs/{vlm().pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Vanedannende legemidler (VLM)" in html
    assert "7–8 måneder" in html
    assert "<dd>3</dd>" in html  # three peer-group meetings
    assert f'href="/kurs/{vlm().pk}/endre/"' not in html


def test_unknown_course_is_404(world, admin, client_for):
    assert client_for(world.caseworker).get("/kurs/999999/").status_code == 404
    assert client_for(admin).get("/kurs/999999/endre/").status_code == 404


# --- administrators add and change courses -------------------------------------------------


def test_administrator_creates_a_course(world, admin, client_for):
    client = client_for(admin)
    assert 'href="/kurs/ny/"' in client.get("/kurs/").content.decode()
    assert client.get("/kurs/ny/").status_code == 200
    response = client.post("/kurs/ny/", course_data())
    course = Course.objects.get(title="Forskrivning av opioider")
    assert response.status_code == 302, form_errors(response)
    assert response["Location"] == f"/kurs/{course.pk}/"
    assert (course.provider, course.format, course.active) == ("other", "seminar", True)
    (row,) = course.history.all()
    assert row.history_type == "+"
    assert row.history_user == admin
    page = client.get(f"/kurs/{course.pk}/")
    assert "Anne Admin" in page.content.decode()


def test_administrator_edits_a_course_and_the_history_names_them(world, admin, client_for):
    client = client_for(admin)
    client.post("/kurs/ny/", course_data())
    course = Course.objects.get(title="Forskrivning av opioider")
    response = client.post(
        f"/kurs/{course.pk}/endre/",
        edit_data(course, theme="Opioider", expected_duration="2 dager"),
    )
    assert response.status_code == 302, form_errors(response)
    course.refresh_from_db()
    assert (course.theme, course.expected_duration) == ("Opioider", "2 dager")
    rows = list(course.history.order_by("history_date", "history_id"))
    assert [r.history_type for r in rows] == ["+", "~"]
    assert all(r.history_user == admin for r in rows)
    html = client.get(f"/kurs/{course.pk}/").content.decode()
    assert "<del>Legemidler</del> → <ins>Opioider</ins>" in html
    assert "<del>1 dag</del> → <ins>2 dager</ins>" in html


def test_first_edit_of_a_seeded_course_shows_old_and_new(world, admin, client_for):
    """The seed gets a starting history row, so the first edit is an ordinary change."""
    client = client_for(admin)
    old_theme = vlm().theme
    response = client.post(f"/kurs/{vlm().pk}/endre/", edit_data(vlm(), theme="VLM"))
    assert response.status_code == 302, form_errors(response)
    latest, seeded = vlm().history.all()[:2]
    assert latest.history_user == admin and seeded.history_type == "+"
    html = client_for(world.caseworker).get(f"/kurs/{vlm().pk}/").content.decode()
    assert "Anne Admin" in html
    assert f"<del>{old_theme}</del> → <ins>VLM</ins>" in html


def test_any_authoritys_administrator_may_edit_the_catalog(world, client_for):
    other_admin = factories.administrator_for(world.other_authority, username="annen.admin")
    response = client_for(other_admin).post(
        f"/kurs/{vlm().pk}/endre/", edit_data(vlm(), description="Ny tekst.")
    )
    assert response.status_code == 302, form_errors(response)
    assert vlm().description == "Ny tekst."


@pytest.mark.parametrize("role", NON_ADMINISTRATORS)
def test_non_administrator_gets_404_on_create_and_edit(world, client_for, role):
    client = client_for(getattr(world, role))
    before = Course.objects.count()
    assert client.get("/kurs/ny/").status_code == 404
    assert client.post("/kurs/ny/", course_data()).status_code == 404
    assert client.get(f"/kurs/{vlm().pk}/endre/").status_code == 404
    response = client.post(f"/kurs/{vlm().pk}/endre/", edit_data(vlm(), active=None))
    assert response.status_code == 404
    assert Course.objects.count() == before
    assert vlm().active
    assert vlm().history.count() == 1  # only the seeded starting version
    catalog = client.get("/kurs/")
    assert catalog.status_code == 200
    assert 'href="/kurs/ny/"' not in catalog.content.decode()


# --- bad input ------------------------------------------------------------------------------


def test_missing_title_is_a_form_error(world, admin, client_for):
    before = Course.objects.count()
    response = client_for(admin).post("/kurs/ny/", course_data(title="   "))
    assert response.status_code == 200
    assert "title" in response.context["form"].errors
    assert 'id="error-summary"' in response.content.decode()
    assert Course.objects.count() == before


@pytest.mark.parametrize("title", ["Diabetes", "diabetes"])
def test_duplicate_provider_and_title_is_a_clear_form_error(world, admin, client_for, title):
    before = Course.objects.count()
    response = client_for(admin).post(
        "/kurs/ny/", course_data(provider="skil", format="kvalitetspakke", title=title)
    )
    assert response.status_code == 200
    (error,) = response.context["form"].errors["title"]
    assert "SKIL" in error and title in error
    assert Course.objects.count() == before


def test_renaming_to_a_title_the_provider_already_has_is_a_form_error(world, admin, client_for):
    client = client_for(admin)
    response = client.post(f"/kurs/{vlm().pk}/endre/", edit_data(vlm(), title="Diabetes"))
    assert response.status_code == 200
    assert "title" in response.context["form"].errors
    assert "Vanedannende legemidler (VLM)" in response.content.decode()  # the heading
    assert vlm().title == "Vanedannende legemidler (VLM)"


def test_the_same_title_from_another_provider_is_allowed(world, admin, client_for):
    response = client_for(admin).post("/kurs/ny/", course_data(title="Diabetes"))
    assert response.status_code == 302, form_errors(response)
    assert Course.objects.filter(title="Diabetes").count() == 2


@pytest.mark.parametrize(
    "overrides",
    [
        {"provider": "ukjent"},
        {"format": "webinar"},
        {"title": "x" * 201},
        {"provider": None},
    ],
)
def test_invalid_course_fields_are_form_errors(world, admin, client_for, overrides):
    before = Course.objects.count()
    response = client_for(admin).post("/kurs/ny/", course_data(**overrides))
    assert response.status_code == 200
    assert response.context["form"].errors
    assert Course.objects.count() == before


def test_courses_are_never_deleted(world, admin, client_for):
    client = client_for(admin)
    assert client.delete(f"/kurs/{vlm().pk}/endre/").status_code == 405
    assert client.post(f"/kurs/{vlm().pk}/").status_code == 405
    assert Course.objects.filter(pk=vlm().pk).exists()


# --- deactivating a course that orders use --------------------------------------------------


def test_deactivated_course_stays_on_its_measures_and_leaves_the_plan_form(
    world, admin, order, client_for
):
    drive = Driver(client_for, world)
    course = vlm()
    response = drive.plan(order, [course_measure(course)])
    assert response.status_code == 302, form_errors(response)
    measure = Measure.objects.get(order=order)
    assert course in MeasureForm().fields["course"].queryset

    response = client_for(admin).post(f"/kurs/{course.pk}/endre/", edit_data(course, active=None))
    assert response.status_code == 302, form_errors(response)

    course.refresh_from_db()
    assert not course.active
    measure.refresh_from_db()
    assert measure.course == course
    case_page = client_for(world.caseworker).get(case_url(order))
    assert "Vanedannende legemidler (VLM)" in case_page.content.decode()
    assert course not in MeasureForm().fields["course"].queryset
    assert MeasureForm().fields["course"].queryset.filter(title=SKIL_PACKAGES[1]).exists()

    # A new plan cannot choose it.
    other = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp
    )
    response = drive.plan(other, [course_measure(course)])
    assert response.status_code == 200
    assert not Measure.objects.filter(order=other).exists()
