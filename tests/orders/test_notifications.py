"""Notices: who is told about each new step and deadline, what the e-mail may say (only that
there is something to do, with a link), the in-app list, and e-mail that could not be sent."""

import io
import re
from datetime import datetime
from smtplib import SMTPException, SMTPRecipientsRefused
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command

from orders import services
from orders.models import Notification
from tests import factories
from tests.orders import lifecycle

OSLO = ZoneInfo("Europe/Oslo")
Kind = Notification.Kind
LINK = re.compile(r"https?://[^\s/]+/varsler/(\d+)/")
ANY_URL = re.compile(r"https?://\S+")


class FailingBackend(BaseEmailBackend):
    """An SMTP server that is down."""

    def send_messages(self, email_messages):
        raise SMTPException("421 Service not available")


class RefusingBackend(BaseEmailBackend):
    """An SMTP server that refuses the recipient, naming the address in its answer."""

    def send_messages(self, email_messages):
        to = email_messages[0].to[0]
        raise SMTPRecipientsRefused({to: (550, f"5.1.1 <{to}>: no such mailbox".encode())})


def run_deadlines():
    call_command("run_deadlines", stdout=io.StringIO())


def new_notices(since_pk, kind=Kind.NEW_TASK):
    return Notification.objects.filter(pk__gt=since_pk, kind=kind)


def last_pk():
    return Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def mailed_notice(message):
    return Notification.objects.get(pk=int(LINK.search(message.body).group(1)))


# --- who is told about a new step -------------------------------------------------------


def test_each_new_step_is_told_to_whoever_must_take_it(world):
    second_leader = factories.leader_for(world.municipality, username="leder.to")
    colleague = factories.caseworker_for(world.authority, username="kollega")

    before = last_pk()
    order = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp
    )
    leaders = {world.leader, second_leader}
    assert {n.recipient for n in new_notices(before)} == leaders

    before = last_pk()
    lifecycle.plan(order, world.leader)
    assert {n.recipient for n in new_notices(before)} == {world.gp_user}

    before = last_pk()
    lifecycle.acknowledge(order)
    assert {n.recipient for n in new_notices(before)} == leaders

    before = last_pk()
    lifecycle.confirm(order, world.leader)
    # The responsible caseworker, not every caseworker of the authority.
    assert {n.recipient for n in new_notices(before)} == {world.caseworker}

    everyone = list(Notification.objects.filter(order=order, kind=Kind.NEW_TASK))
    assert all(n.order == order and n.read_at is None for n in everyone)
    assert not colleague.notifications.exists()
    assert not world.other_leader.notifications.exists()
    assert not world.other_caseworker.notifications.exists()
    assert not world.other_gp_user.notifications.exists()

    run_deadlines()
    assert sorted(m.to[0] for m in mail.outbox) == sorted(n.recipient.email for n in everyone)
    assert all(len(m.to) == 1 and not m.cc and not m.bcc for m in mail.outbox)
    assert sorted(mailed_notice(m).pk for m in mail.outbox) == sorted(n.pk for n in everyone)
    for message in mail.outbox:
        assert message.to == [mailed_notice(message).recipient.email]


def test_running_the_command_twice_sends_each_mail_once(world, order):
    run_deadlines()
    run_deadlines()
    assert [m.to for m in mail.outbox] == [[world.leader.email]]
    assert Notification.objects.get(order=order).emailed_at is not None


# --- what the e-mail may say ------------------------------------------------------------


def test_mail_says_only_that_there_is_something_to_do_with_a_link(world, time_machine):
    time_machine.move_to(datetime(2027, 1, 4, 9, tzinfo=OSLO), tick=False)
    order = factories.issue_order(
        caseworker=world.caseworker,
        authority=world.authority,
        personnel=world.gp,
        number=7788,
        grounds_summary="Forskrev store mengder benzodiazepiner uten indikasjon.",
        requirements="Gjennomføre SKIL-kvalitetspakken om vanedannende legemidler.",
    )
    lifecycle.plan(order, world.leader)  # new task for the GP
    # The plan is late for long: reminder, overdue notice and follow-up (to the caseworker).
    order2 = factories.issue_order(
        caseworker=world.caseworker,
        authority=world.authority,
        personnel=world.gp,
        number=7789,
        grounds_summary="Forskrev store mengder benzodiazepiner uten indikasjon.",
        requirements="Gjennomføre SKIL-kvalitetspakken om vanedannende legemidler.",
    )
    for moment in (
        datetime(2027, 1, 31, 9, tzinfo=OSLO),  # reminder
        datetime(2027, 2, 4, 9, tzinfo=OSLO),  # overdue
        datetime(2027, 2, 11, 9, tzinfo=OSLO),  # follow-up task for the caseworker
    ):
        time_machine.move_to(moment, tick=False)
        run_deadlines()

    kinds = {(mailed_notice(m).kind, mailed_notice(m).order_id) for m in mail.outbox}
    assert {Kind.NEW_TASK, Kind.REMINDER, Kind.OVERDUE, Kind.ESCALATION} <= {k for k, _ in kinds}
    assert {order.pk, order2.pk} == {o for _, o in kinds}

    gp, municipality = world.gp, world.municipality
    forbidden = [
        gp.name,
        gp.hpr_number,
        order.case_number,
        order2.case_number,
        "7788",
        "7789",
        municipality.name,
        municipality.number,
        world.authority.name,
        order.grounds_summary,
        "benzodiazepin",
        order.requirements,
        "SKIL",
        world.caseworker.get_full_name(),
        world.leader.get_full_name(),
    ]
    for message in mail.outbox:
        text = f"{message.subject}\n{message.body}"
        for secret in forbidden:
            assert secret.lower() not in text.lower(), (secret, text)
        notice = mailed_notice(message)
        assert ANY_URL.findall(message.body) == [f"http://127.0.0.1:8000/varsler/{notice.pk}/"]
        assert not message.alternatives and not message.attachments


def test_mail_link_follows_the_site_url(world, order, settings):
    settings.SITE_URL = "https://palegg.example.no"
    run_deadlines()
    [message] = mail.outbox
    notice = Notification.objects.get(order=order)
    assert ANY_URL.findall(message.body) == [f"https://palegg.example.no/varsler/{notice.pk}/"]


# --- the in-app list --------------------------------------------------------------------


@pytest.fixture
def notices_of_two_municipalities(world, order):
    """The leader's notice on ``order``, and another leader's on a case in another
    municipality."""
    other_gp = factories.HealthPersonnelFactory(
        municipality=world.other_municipality,
        user=factories.UserFactory(username="lege.trondheim"),
    )
    other_order = factories.issue_order(
        caseworker=world.other_caseworker,
        authority=world.other_authority,
        personnel=other_gp,
        number=5555,
    )
    mine = Notification.objects.get(order=order, recipient=world.leader)
    theirs = Notification.objects.get(order=other_order, recipient=world.other_leader)
    return mine, theirs


def test_notice_list_shows_only_the_users_own_notices(
    notices_of_two_municipalities, world, client_for
):
    mine, theirs = notices_of_two_municipalities
    response = client_for(world.leader).get("/varsler/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"/varsler/{mine.pk}/" in page
    assert mine.order.case_number in page
    assert f"/varsler/{theirs.pk}/" not in page
    assert theirs.order.case_number not in page


def test_notice_list_needs_login(client):
    response = client.get("/varsler/")
    assert response.status_code == 302
    assert "/varsler/" not in response["Location"].split("?")[0]


def test_someone_elses_notice_does_not_exist(notices_of_two_municipalities, world, client_for):
    mine, theirs = notices_of_two_municipalities
    response = client_for(world.leader).get(f"/varsler/{theirs.pk}/")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert client_for(world.leader).get("/varsler/999999/").status_code == 404


def test_opening_a_notice_marks_it_read_and_goes_to_the_case(
    notices_of_two_municipalities, world, client_for
):
    mine, _ = notices_of_two_municipalities
    response = client_for(world.leader).get(f"/varsler/{mine.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/saker/{mine.order_id}/"
    mine.refresh_from_db()
    assert mine.read_at is not None

    # Opening it again keeps the first reading time.
    first_read = mine.read_at
    client_for(world.leader).get(f"/varsler/{mine.pk}/")
    mine.refresh_from_db()
    assert mine.read_at == first_read


def test_mark_all_read_marks_only_the_users_own(notices_of_two_municipalities, world, client_for):
    mine, theirs = notices_of_two_municipalities
    lifecycle.plan(mine.order, world.leader)
    lifecycle.acknowledge(mine.order)  # a second notice for the leader
    assert world.leader.notifications.filter(read_at__isnull=True).count() == 2

    client = client_for(world.leader)
    assert client.get("/varsler/").context["unread"] == 2
    response = client.post("/varsler/")
    assert response.status_code == 302
    assert response["Location"] == "/varsler/"
    assert not world.leader.notifications.filter(read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert client.get("/varsler/").context["unread"] == 0


def test_marking_read_touches_only_the_users_own_unread_notices_and_keeps_the_first_time(
    notices_of_two_municipalities, world
):
    mine, theirs = notices_of_two_municipalities
    lifecycle.plan(mine.order, world.leader)
    lifecycle.acknowledge(mine.order)  # a second notice for the leader
    second = world.leader.notifications.exclude(pk=mine.pk).get()

    # Someone else's notice, named by its pk: nothing is marked.
    assert services.mark_notifications_read(acting_user=world.leader, pk=theirs.pk) == 0
    assert services.mark_notifications_read(acting_user=world.leader, pk=mine.pk) == 1
    mine.refresh_from_db()
    first_read = mine.read_at
    assert first_read is not None
    second.refresh_from_db()
    assert second.read_at is None

    # All of them: only the one still unread changes; the first reading time stays.
    assert services.mark_notifications_read(acting_user=world.leader) == 1
    mine.refresh_from_db()
    second.refresh_from_db()
    assert mine.read_at == first_read
    assert second.read_at is not None
    theirs.refresh_from_db()
    assert theirs.read_at is None


# --- e-mail that cannot be sent ---------------------------------------------------------


def test_failed_mail_stays_pending_and_is_sent_on_a_later_run(world, order, settings):
    notice = Notification.objects.get(order=order, recipient=world.leader)

    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    run_deadlines()
    run_deadlines()
    notice.refresh_from_db()
    assert notice.emailed_at is None
    assert mail.outbox == []

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    run_deadlines()
    notice.refresh_from_db()
    assert notice.emailed_at is not None
    assert [m.to for m in mail.outbox] == [[world.leader.email]]
    assert mailed_notice(mail.outbox[0]) == notice

    run_deadlines()
    assert len(mail.outbox) == 1


def test_a_refused_recipient_is_logged_without_the_address(world, order, settings, caplog):
    notice = Notification.objects.get(order=order, recipient=world.leader)
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    with caplog.at_level("ERROR", logger="orders.notifications"):
        run_deadlines()
    assert f"Notice {notice.pk} could not be e-mailed (SMTPRecipientsRefused)" in caplog.text
    assert world.leader.email not in caplog.text and "@" not in caplog.text


def test_notices_are_given_in_the_app_while_mail_is_down(world, settings, time_machine):
    time_machine.move_to(datetime(2027, 1, 4, 9, tzinfo=OSLO), tick=False)
    order = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp
    )
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    time_machine.move_to(datetime(2027, 1, 31, 9, tzinfo=OSLO), tick=False)
    run_deadlines()
    pending = Notification.objects.filter(order=order, emailed_at__isnull=True)
    assert sorted(pending.values_list("kind", flat=True)) == [Kind.NEW_TASK, Kind.REMINDER]

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    run_deadlines()
    assert not pending.exists()
    assert sorted(mailed_notice(m).kind for m in mail.outbox) == [Kind.NEW_TASK, Kind.REMINDER]


def test_a_notice_names_the_task_and_the_case_in_the_readers_language(world, client_for):
    """«Ny oppgave: planlegg tiltak – sak 2026/…» for the leader, in bokmål and in nynorsk;
    the GP's reminder about course terms names them though they are no step."""
    from django.utils import translation

    from orders import selectors, steps

    order = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=88
    )
    notice = Notification.objects.get(recipient=world.leader, order=order, kind=Kind.NEW_TASK)
    assert notice.step == steps.PLAN_MEASURES.name
    for language, expected in (
        ("nb", f"Ny oppgave: planlegg tiltak – sak {order.case_number}"),
        ("nn", f"Ny oppgåve: planlegg tiltak – sak {order.case_number}"),
    ):
        with translation.override(language):
            assert selectors.notice_title(notice) == expected
        world.leader.language = language
        world.leader.save(update_fields=["language"])
        page = client_for(world.leader).get("/varsler/").content.decode()
        assert expected in page, language

    terms = Notification.objects.create(
        recipient=world.gp_user,
        kind=Kind.REMINDER,
        order=order,
        deadline_kind="terms",
        key="terms-reminder-test",
    )
    with translation.override("nb"):
        assert selectors.notice_title(terms) == (
            f"Fristen nærmer seg: godta kursvilkårene – sak {order.case_number}"
        )
