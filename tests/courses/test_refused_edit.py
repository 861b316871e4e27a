"""The catalog's edit pages are not revealed to those who may not edit (404), and the attempt
is logged like every refusal."""

from audit.models import AccessEvent
from tests import factories


def test_editing_a_course_without_the_right_is_refused_and_logged(client_for, world):
    course = factories.course()
    client = client_for(world.leader)
    assert client.get(f"/kurs/{course.pk}/endre/").status_code == 404
    assert client.post("/kurs/ny/", {"title": "Nytt kurs"}).status_code == 404
    events = AccessEvent.objects.filter(user=world.leader, outcome="refused", action="edit_course")
    assert sorted(events.values_list("target_id", flat=True)) == sorted([str(course.pk), "new"])
