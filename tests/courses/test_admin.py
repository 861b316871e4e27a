"""The course catalog through the operators' admin site: saved by the same service as the
catalog's pages, so its history names the operator; the same checks; never deleted."""

from django.conf import settings

from courses.models import Course

COURSES = "/drift/admin/courses/course/"


def course_form(**values):
    return {
        "title": "Smertebehandling",
        "provider": "skil",
        "format": "seminar",
        "theme": "",
        "description": "",
        "expected_duration": "",
        "active": "on",
        **values,
    }


def test_a_course_made_and_changed_in_the_admin_has_history_naming_the_operator(
    db, operator, operator_client
):
    assert operator_client.post(f"{COURSES}add/", course_form()).status_code == 302
    course = Course.objects.get(title="Smertebehandling")
    url = f"{COURSES}{course.pk}/change/"
    changed = course_form(title="Smertebehandling i allmennpraksis", active="")
    assert operator_client.post(url, changed).status_code == 302

    course.refresh_from_db()
    assert (course.title, course.active) == ("Smertebehandling i allmennpraksis", False)
    versions = list(course.history.order_by("history_date", "history_id"))
    assert [(v.history_type, v.title, v.history_user) for v in versions] == [
        ("+", "Smertebehandling", operator),
        ("~", "Smertebehandling i allmennpraksis", operator),
    ]
    # The catalog's own page shows who changed it.
    assert operator_client.get(f"/kurs/{course.pk}/").status_code == 200


def test_the_catalogs_own_checks_hold_in_the_admin(db, operator_client):
    Course.objects.create(title="Testkurs i diabetes", provider=Course.Provider.SKIL)
    operator_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = operator_client.post(f"{COURSES}add/", course_form(title="TESTKURS I DIABETES"))
    assert response.status_code == 200
    assert "already has a course called" in response.content.decode()
    response = operator_client.post(f"{COURSES}add/", course_form(title="x" * 201))
    assert response.status_code == 200
    assert Course.objects.filter(title__iexact="testkurs i diabetes").count() == 1
