"""The course form holds the catalog's texts to the model's limits and shows them
(issue 10, point 5)."""

import pytest

from courses.models import Course
from municipalities import bounds
from tests import factories
from tests.courses.test_catalog import course_data


@pytest.fixture
def admin(world):
    return factories.administrator_for(world.authority, username="admin")


def test_a_megabyte_of_course_description_is_a_form_error(admin, client_for):
    response = client_for(admin).post("/kurs/ny/", course_data(description="x" * 1_000_000))
    assert response.status_code == 200
    assert "description" in response.context["form"].errors
    assert not Course.objects.filter(title="Forskrivning av opioider").exists()


def test_the_course_form_shows_its_limits(admin, client_for):
    page = client_for(admin).get("/kurs/ny/").content.decode()
    assert f'maxlength="{bounds.GROUNDS_LENGTH}"' in page
    assert "Høyst 4\xa0000 tegn." in page
    assert "Høyst 200 tegn." in page
