"""An administrator appoints a new municipal leader in a real browser, and that leader then
finds the municipality's overview with the order that concerns it.

Elements are located by ids, names, URLs and CSS classes, never by text: the interface text
is translated and may change.
"""

from municipalities.models import ACT_FOR_MUNICIPALITY, Appointment, User
from tests import factories
from tests.factories import PASSWORD
from tests.two_factor import code_for, give_totp

SUBMIT = "main form[method=post] [type=submit]"
SUCCESS_MESSAGE = ".messages[role=status] .message-success"


def log_in(page, live_server, username, password=PASSWORD, totp=None):
    page.goto(f"{live_server.url}/logg-inn/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click(SUBMIT)
    if totp is not None:  # an administrator's password login asks for the second factor
        assert page.url.startswith(f"{live_server.url}/logg-inn/kode/")
        page.fill("#id_code", code_for(totp))
        with page.expect_navigation():
            page.click(SUBMIT)
    assert page.url == f"{live_server.url}/oppgaver/", "login did not land on the task list"


def log_out(page, live_server):
    with page.expect_navigation():
        page.click(".user-box form button[type=submit]")
    assert page.url == f"{live_server.url}/logg-inn/"


def focused(page):
    return page.evaluate("() => document.activeElement.id || document.activeElement.tagName")


def test_administrator_appoints_a_new_leader_who_then_sees_the_municipality_overview(
    browser_world, live_server, page, artifacts_dir
):
    world = browser_world
    admin = factories.administrator_for(world.authority, username="admin")
    order = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=4711
    )
    elsewhere = factories.issue_order(
        caseworker=world.other_caseworker,
        authority=world.other_authority,
        personnel=factories.HealthPersonnelFactory(
            municipality=world.other_municipality, hpr_number="9100001"
        ),
        number=4712,
    )
    office = factories.GPOfficeFactory(name="Bryggen legesenter", municipality=world.municipality)
    factories.gp(office, name="Astrid Fastlege", hpr_number="9200001", list_size=1450)
    number = world.municipality.number

    # (1) The administrator finds the municipality through the menu and its overview.
    log_in(page, live_server, admin.username, totp=give_totp(admin))
    with page.expect_navigation():
        page.click('.nav a[href="/kommuner/"]')
    with page.expect_navigation():
        page.click(f'main a[href="/kommuner/{number}/"]')
    with page.expect_navigation():
        page.click(f'main a[href="/kommuner/{number}/ledere/utnevn/"]')
    assert page.url == f"{live_server.url}/kommuner/{number}/ledere/utnevn/"

    # (2) The form, by keyboard: the only role is preselected; a new person needs names.
    assert page.is_checked("input[name=role][value=leader]")
    page.focus("#id_username")
    page.keyboard.type("nina.ny")
    page.keyboard.press("Tab")
    assert focused(page) == "id_first_name"
    page.keyboard.type("Nina")
    page.keyboard.press("Tab")
    assert focused(page) == "id_last_name"
    page.keyboard.type("Nyleder")
    page.keyboard.press("Tab")
    assert focused(page) == "id_email"
    page.keyboard.type("nina.ny@test.invalid")
    page.keyboard.press("Tab")
    assert focused(page) == "id_reason"
    page.keyboard.type("Ny kommuneoverlege fra 1. mars.")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.type") == "submit"
    with (
        page.expect_navigation(),
        page.expect_response(lambda r: r.request.method == "POST") as answer,
    ):
        page.keyboard.press("Enter")
    assert answer.value.status == 302
    assert page.url == f"{live_server.url}/kommuner/{number}/ledere/"
    assert page.locator(SUCCESS_MESSAGE).count() == 1

    leader = User.objects.get(username="nina.ny")
    appointment = Appointment.objects.get(user=leader)
    assert (appointment.role, appointment.municipality_id, appointment.appointed_by_id) == (
        Appointment.Role.LEADER,
        world.municipality.pk,
        admin.pk,
    )
    assert leader.has_perm(ACT_FOR_MUNICIPALITY, world.municipality)
    assert not leader.has_usable_password()
    # The leaders page lists the appointment with a link to end it.
    assert page.locator(f'a[href="/utnevnelser/{appointment.pk}/avslutt/"]').count() == 1
    log_out(page, live_server)

    # (3) The new leader logs in. Appointed users get an unusable password because login in
    # production goes through ID-porten/HelseID, which the test server does not have; the
    # test therefore gives the user a password directly in the database.
    leader.set_password(PASSWORD)
    leader.save(update_fields=["password"])
    log_in(page, live_server, leader.username)
    assert page.locator(f'a[href^="/saker/{order.pk}/steg/"]').count() == 1

    with page.expect_navigation():
        page.click('.nav a[href="/kommuner/"]')
    assert page.locator('main a[href^="/kommuner/"]').count() == 1
    with page.expect_navigation():
        page.click(f'main a[href="/kommuner/{number}/"]')
    assert page.url == f"{live_server.url}/kommuner/{number}/"
    assert page.locator(f'main a[href="/saker/{order.pk}/"]').count() == 1
    assert page.locator(f'main a[href="/saker/{elsewhere.pk}/"]').count() == 0
    assert page.locator("main").inner_text().count(office.org_number) == 1
    # A leader may not appoint: no link to the appoint form.
    assert page.locator(f'a[href="/kommuner/{number}/ledere/utnevn/"]').count() == 0
    page.screenshot(path=str(artifacts_dir / "municipality-overview.png"), full_page=True)

    # Another municipality's overview does not exist for them.
    response = page.goto(f"{live_server.url}/kommuner/{world.other_municipality.number}/")
    assert response.status == 404
