"""The measure page (tiltak): what a course or a supervision arrangement has come to, and the
small forms through which the municipality, the doctor and the supervisor record their part.
Also "Mine kurs og veiledning", the doctor's and the supervisor's own list of measures."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_safe
from viewflow.workflow.exceptions import FlowLockFailed

import audit
from config.pages import form_errors_from, page_of
from courses import measure_forms as forms
from courses.actions import MEASURE_ACTIONS, Who
from courses.services import AlreadyRecorded
from municipalities import invitations
from municipalities import selectors as municipality_selectors

from . import access, selectors, services
from .access import Capabilities
from .views import BUSY_MESSAGE, log_access, probed, visible_order

CLOSED_MESSAGE = _("The case is closed; nothing was changed.")
ACCESS_ENDED_MESSAGE = _(
    "The supervision is complete. Your report stays with the case; your access to the case "
    "has ended."
)
NOT_OPEN_MESSAGE = _("That cannot be recorded for this measure now; nothing was changed.")
ALREADY_RECORDED_MESSAGE = _("This was already recorded; it has not been recorded twice.")


def _visible_measure(request, pk, measure_pk, action):
    """The order and its measure, or 404 (logged) — also for a measure of another order, and
    for a supervisor any measure but their own."""
    order = visible_order(request, pk, action=action)
    target = f"measure:{measure_pk}"

    def measure_of(order, measure_pk):
        measures = selectors.measures_shown_to(request.capabilities, order)
        measures = measures.select_related("course", "supervisor").prefetch_related(
            "meetings", "sessions"
        )
        return get_object_or_404(measures, pk=measure_pk)

    return order, probed(request, order, action, target, measure_of, measure_pk)


def _rules(capabilities, order, measure):
    """``allowed(who)``: the answer to a who-token of the measure's actions
    (courses.actions.Who) for this user and measure, asked once."""
    answers = {}

    def allowed(who):
        if who not in answers:
            answers[who] = capabilities.may_act_on_measure(who, order, measure)
        return answers[who]

    return allowed


def _form(name, allowed, measure, data=None, files=None, meeting=None):
    action = MEASURE_ACTIONS[name]
    prefix = f"meeting-{meeting.number}" if meeting else name
    options = {"meeting": meeting} if meeting else {}
    options.update(action.form_options(allowed))
    return action.form(data, files, measure=measure, prefix=prefix, **options)


def _offered_forms(allowed, order, measure, bound):
    """The forms of the actions this user may take on this measure now; ``bound`` (a form
    posted with errors) takes the place of its blank one."""
    if access.is_closed(order):
        return {}, [(meeting, None) for meeting in measure.meetings.all()]
    offered = {
        name: bound.get(name) or _form(name, allowed, measure)
        for name, action in MEASURE_ACTIONS.items()
        if not action.per_meeting and action.applies(measure) and allowed(action.who)
    }
    attendance = MEASURE_ACTIONS["attendance"]
    may_record = attendance.applies(measure) and allowed(attendance.who)
    return offered, [
        (meeting, _attendance_form(allowed, measure, meeting, bound) if may_record else None)
        for meeting in measure.meetings.all()
    ]


def _attendance_form(allowed, measure, meeting, bound):
    """Attendance is recorded once the meeting has taken place."""
    form = bound.get(f"meeting-{meeting.pk}")
    if form is None and meeting.date <= timezone.localdate():
        form = _form("attendance", allowed, measure, meeting=meeting)
    return form


def _measure_page(request, order, measure, bound=None):
    selectors.with_progress([measure])
    allowed = _rules(request.capabilities, order, measure)
    offered, meetings = _offered_forms(allowed, order, measure, bound or {})
    documents = measure.documents.select_related("uploaded_by", "supersedes", "superseded_by")
    context = {
        "order": order,
        "measure": measure,
        "closed": access.is_closed(order),
        "forms": offered,
        "meetings": meetings,
        "may_record_attendance": any(form for _meeting, form in meetings),
        "bound": next(iter((bound or {}).values()), None),
        "documents": list(documents),
        "supervisor_login": _supervisor_login(request, order, measure, allowed, bound or {}),
    }
    return render(request, "orders/measure_detail.html", context)


def _supervisor_login(request, order, measure, allowed, bound):
    """For the municipality that named the supervisor: their login, how they log in, the
    state of their invitation and (while it has never been used) the form to send one."""
    login = measure.supervisor.user if measure.supervisor_id else None
    if login is None or not allowed(Who.MUNICIPALITY):
        return None
    invitable = request.capabilities.may_invite_supervisor(order, measure)
    form = None
    if invitable:
        form = bound.get("invite") or forms.SupervisorInvitationForm(
            prefix="invite", initial={"email": login.email}
        )
    return {
        "user": login,
        "status": municipality_selectors.invitation_statuses([login])[login.pk],
        "helseid": invitations.helseid_configured(),
        "form": form,
        "may_revoke": invitable,
    }


@login_required
@require_http_methods(["GET", "POST"])
def supervisor_invitation(request, pk, measure_pk, action):
    """Send (again) or revoke the named supervisor's invitation; only the municipality, and
    only for a login nobody has used yet. Anything else is a logged refusal and 404."""
    revoking = action == "revoke_invitation"
    logged = audit.Action.INVITATION_REVOKE if revoking else audit.Action.INVITATION_SEND
    order, measure = _visible_measure(request, pk, measure_pk, logged)
    back = redirect("orders:measure_detail", pk=order.pk, measure_pk=measure.pk)
    if request.method != "POST":
        return back
    if measure.is_course or not request.capabilities.may_invite_supervisor(order, measure):
        log_access(request, logged, measure, order=order, outcome="refused")
        raise Http404
    login = measure.supervisor.user
    if revoking:
        for invitation in login.invitations.filter(used_at__isnull=True, revoked_at__isnull=True):
            invitations.revoke(acting_user=request.user, invitation=invitation, request=request)
        messages.success(request, _("The invitation is revoked; its link no longer works."))
        return back
    form = forms.SupervisorInvitationForm(request.POST, prefix="invite")
    if not form.is_valid():
        log_access(request, audit.Action.VIEW_MEASURE, measure, order=order)
        return _measure_page(request, order, measure, bound={"invite": form})
    invitation, _link = invitations.issue(
        acting_user=request.user, user=login, email=form.cleaned_data["email"], request=request
    )
    messages.success(request, invitations.sent_message(invitation))
    return back


@login_required
@require_safe
def measure_detail(request, pk, measure_pk):
    order, measure = _visible_measure(request, pk, measure_pk, audit.Action.VIEW_MEASURE)
    log_access(request, audit.Action.VIEW_MEASURE, measure, order=order)
    return _measure_page(request, order, measure)


@login_required
def measure_action(request, pk, measure_pk, action, meeting_pk=None):
    """POST one action on the measure; on errors the measure page shows the form again."""
    row = MEASURE_ACTIONS[action]
    order, measure = _visible_measure(request, pk, measure_pk, row.logged_as)
    back = redirect("orders:measure_detail", pk=order.pk, measure_pk=measure.pk)
    meeting = None
    if meeting_pk is not None:
        # A meeting of another measure (or case) is not found, and the attempt is logged.
        meeting = probed(
            request,
            order,
            row.logged_as,
            f"meeting:{meeting_pk}",
            lambda _order, pk: get_object_or_404(measure.meetings.all(), pk=pk),
            meeting_pk,
        )
    if request.method != "POST":
        return back
    if access.is_closed(order):
        messages.warning(request, CLOSED_MESSAGE)
        return back
    allowed = _rules(request.capabilities, order, measure)
    if not allowed(row.who):
        log_access(request, row.logged_as, measure, order=order, outcome="refused")
        raise PermissionDenied
    if not row.applies(measure):
        messages.warning(request, NOT_OPEN_MESSAGE)
        return back
    form = _form(action, allowed, measure, request.POST, request.FILES, meeting)
    if form.is_valid():
        try:
            services.act_on_measure(
                action=action, measure=measure, acting_user=request.user, **form.arguments()
            )
        except services.StepNotOpen:
            messages.warning(request, CLOSED_MESSAGE)
            return back
        except AlreadyRecorded:
            messages.info(request, ALREADY_RECORDED_MESSAGE)
            return back
        except FlowLockFailed:
            messages.warning(request, BUSY_MESSAGE)
        except ValidationError as error:
            form_errors_from(error, form)
        else:
            messages.success(request, row.done)
            # Asked of the database again: the action may have just ended the access.
            now = Capabilities.of(request.user)
            if not selectors.measures_shown_to(now, order).filter(pk=measure.pk).exists():
                # The supervision is complete: the supervisor's access to the case has ended.
                messages.info(request, ACCESS_ENDED_MESSAGE)
                return redirect("orders:my_measures")
            return back
    key = f"meeting-{meeting.pk}" if meeting else action
    # The page is shown again (with the form's errors): that is a read of the measure too.
    log_access(request, audit.Action.VIEW_MEASURE, measure, order=order)
    return _measure_page(request, order, measure, bound={key: form})


@login_required
@require_safe
def my_measures(request):
    """Mine kurs og veiledning: the measures of orders about me, and those I supervise."""
    own = selectors.with_progress(list(selectors.own_measures_for(request.capabilities)))
    page = page_of(request, selectors.supervised_measures_for(request.capabilities))
    page.object_list = selectors.with_progress(list(page.object_list))
    for m in own + page.object_list:
        m.case_closed = access.is_closed(m.order)
    context = {"own": own, "page": page}
    return render(request, "orders/my_measures.html", context)
