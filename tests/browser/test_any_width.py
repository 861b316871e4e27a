"""Every page of each role, at 1,280 px and at 320 px, in Debian's Chromium: axe-core (the WCAG
2.1 A and AA rules, from the npm lockfile) finds nothing, and the page never scrolls sideways
(WCAG 1.4.10: the menu wraps, wide tables scroll inside their own region). Error states are
among the pages. The case page, the case list and the plan form are saved as screenshots at
both widths (test-artifacts/), for a person to look at.
"""

import os
from pathlib import Path

import pytest
from django.urls import reverse

from orders.models import Order
from tests import factories
from tests.browser.conftest import REPO_ROOT
from tests.browser.test_happy_path import SUBMIT, log_in, log_out
from tests.orders import lifecycle

AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
WIDTHS = (1280, 320)
SCREENSHOTS = {"case page": "case-page", "case list": "case-list", "leader: plan form": "plan-form"}


def axe_violations(page) -> list[str]:
    """axe-core run in the page (evaluated through the browser's debugging protocol, so the
    pages' Content-Security-Policy, which allows no inline script, does not stand in the
    way)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
    ]


def sideways_overflow(page) -> int:
    """How many pixels the page is wider than the window (0: no horizontal scrolling)."""
    return page.evaluate(
        "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - window.innerWidth"
    )


def check(page, label, width, artifacts_dir, problems):
    page.set_viewport_size({"width": width, "height": 900})
    if overflow := sideways_overflow(page):
        problems.append(f"{label} at {width} px scrolls sideways by {overflow} px")
    problems += [f"{label} at {width} px: {v}" for v in axe_violations(page)]
    if label in SCREENSHOTS:
        path = artifacts_dir / f"{SCREENSHOTS[label]}-{width}.png"
        page.screenshot(path=str(path), full_page=True)


def visit(page, live_server, label, path, artifacts_dir, problems):
    response = page.goto(f"{live_server.url}{path}")
    assert response.status == 200, f"{label}: {path} answered {response.status}"
    for width in WIDTHS:
        check(page, label, width, artifacts_dir, problems)


def test_every_page_of_every_role_passes_axe_and_fits_320_px(
    browser_world, live_server, page, artifacts_dir
):
    if not AXE.exists():
        # As the browser itself (conftest): in CI (PALEGG_REQUIRE_BROWSER) a missing axe-core
        # fails, it is not skipped.
        message = f"axe-core is not installed ({AXE}): run `make install`"
        if os.environ.get("PALEGG_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    world = browser_world
    planning = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=501
    )
    under_way = lifecycle.advance(
        factories.issue_order(
            caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=502
        ),
        world.leader,
        "confirm_completion",
    )
    problems: list[str] = []
    page.set_viewport_size({"width": 1280, "height": 900})

    def pages_of(user, paths):
        log_in(page, live_server, user)
        for label, path in paths:
            visit(page, live_server, label, path, artifacts_dir, problems)
        return user

    case = reverse("orders:case_detail", args=[under_way.pk])
    pages_of(
        world.caseworker,
        [
            ("tasks", reverse("orders:my_tasks")),
            ("case list", reverse("orders:case_list")),
            ("case list, overdue", reverse("orders:case_list") + "?due=overdue"),
            ("case page", case),
            ("notifications", reverse("orders:notifications")),
            ("course catalog", reverse("courses:catalog")),
            ("municipalities", reverse("web:municipality_list")),
            (
                "municipality overview",
                reverse("web:municipality_overview", args=[world.municipality.number]),
            ),
            ("issue form", reverse("orders:issue_order")),
        ],
    )
    # An error state: the issue form sent empty shows its error summary, focused.
    page.goto(f"{live_server.url}{reverse('orders:issue_order')}")
    with page.expect_navigation():
        page.click(SUBMIT)
    assert page.locator("#error-summary").count() == 1
    assert page.evaluate("() => document.activeElement.id") == "error-summary"
    for width in WIDTHS:
        check(page, "issue form with errors", width, artifacts_dir, problems)
    log_out(page, live_server)

    log_in(page, live_server, world.leader)
    plan_task = lifecycle.open_task(planning)
    plan_form = reverse("orders:task_step", args=[planning.pk, plan_task.pk])
    for label, path in [
        ("tasks", reverse("orders:my_tasks")),
        ("case list", reverse("orders:case_list")),
        ("plan form", plan_form),
        ("case page (leader)", case),
    ]:
        visit(page, live_server, f"leader: {label}", path, artifacts_dir, problems)
    # The plan form sent empty: its errors.
    page.goto(f"{live_server.url}{plan_form}")
    with page.expect_navigation():
        page.click(SUBMIT)
    assert page.locator("#error-summary").count() == 1
    for width in WIDTHS:
        check(page, "leader: plan form with errors", width, artifacts_dir, problems)
    log_out(page, live_server)

    gp_pages = [
        ("tasks", reverse("orders:my_tasks")),
        ("case list", reverse("orders:case_list")),
        ("case page", case),
        ("who read my case", reverse("orders:case_readers", args=[under_way.pk])),
        ("my measures", reverse("orders:my_measures")),
        ("notifications", reverse("orders:notifications")),
    ]
    log_in(page, live_server, world.gp_user)
    for label, path in gp_pages:
        visit(page, live_server, f"GP: {label}", path, artifacts_dir, problems)
    log_out(page, live_server)

    assert Order.objects.filter(pk__in=[planning.pk, under_way.pk]).count() == 2
    for name in SCREENSHOTS.values():
        for width in WIDTHS:
            shot = Path(artifacts_dir) / f"{name}-{width}.png"
            assert shot.exists() and shot.stat().st_size > 1000, shot
    assert not problems, "\n".join(problems)
