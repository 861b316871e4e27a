"""Forms for the measure page: one small form per measure action (courses.actions). Each
knows the measure it acts on and gives the service its keyword arguments through
``arguments()``."""

import uuid

from django import forms
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from config import forms as config_forms
from municipalities import bounds

from .models import CourseMeeting, EvidenceDocument, SupervisionSession
from .validators import evidence_content_type


class MeasureForm(config_forms.Form):
    """Base: ``measure`` in, the service's keyword arguments out."""

    # What the form shows to start with: field name -> the measure's attribute (what was
    # recorded before, so that correcting it starts from it).
    initial_from: dict[str, str] = {}

    def __init__(self, *args, measure, **kwargs):
        if self.initial_from:
            kwargs.setdefault(
                "initial", {f: getattr(measure, a) for f, a in self.initial_from.items()}
            )
        super().__init__(*args, **kwargs)
        self.measure = measure

    def arguments(self) -> dict:
        return dict(self.cleaned_data)


class SubmittedOnce(config_forms.Form):
    """A hidden one-time key, made when the form is shown and kept with what it records: the
    same form sent twice (a double click, a reload of the POST) is recorded once."""

    submission_key = forms.Field(widget=forms.HiddenInput, required=False, initial=uuid.uuid4)

    def clean_submission_key(self):
        # A missing or mangled key only loses the protection; it is no error to show.
        try:
            return uuid.UUID(self.cleaned_data["submission_key"])
        except (TypeError, ValueError, AttributeError):
            return None


class EnrolForm(MeasureForm):
    enrolled_on = bounds.past_date(_("Enrolled on"))
    initial_from = {n: n for n in ("enrolled_on", "group_name", "group_leader")}

    def __init__(self, *args, measure, **kwargs):
        super().__init__(*args, measure=measure, **kwargs)
        self.meeting_count = measure.course.meeting_count
        if not self.meeting_count:
            return
        self.fields["group_name"] = bounds.line_field(_("Peer group"))
        self.fields["group_leader"] = bounds.line_field(_("Group leader"))
        dates = {m.number: m.date for m in measure.meetings.all()}
        for number in range(1, self.meeting_count + 1):
            self.fields[f"meeting_{number}"] = bounds.planned_date(
                _("Meeting %(n)s") % {"n": number}, initial=dates.get(number)
            )

    def meeting_fields(self):
        return [self[f"meeting_{n}"] for n in range(1, self.meeting_count + 1)]

    def other_fields(self):
        return [f for f in self if not f.name.startswith("meeting_")]

    def clean(self):
        data = super().clean()
        dates = [data.get(f"meeting_{n}") for n in range(1, self.meeting_count + 1)]
        for number in range(2, self.meeting_count + 1):
            before, this = dates[number - 2], dates[number - 1]
            if before and this and this < before:
                self.add_error(
                    f"meeting_{number}",
                    _("Meeting %(n)s cannot be before meeting %(m)s.")
                    % {"n": number, "m": number - 1},
                )
        return data

    def arguments(self):
        data = self.cleaned_data
        return {
            "enrolled_on": data["enrolled_on"],
            "group_name": data.get("group_name", ""),
            "group_leader": data.get("group_leader", ""),
            "meeting_dates": [data[f"meeting_{n}"] for n in range(1, self.meeting_count + 1)],
        }


class AcceptTermsForm(MeasureForm):
    accepted = forms.BooleanField(
        error_messages={"required": _("Tick the box to accept the course terms.")}
    )

    def __init__(self, *args, measure, **kwargs):
        super().__init__(*args, measure=measure, **kwargs)
        self.fields["accepted"].label = _(
            "I have read the course terms from %(provider)s and accept them."
        ) % {"provider": measure.course.get_provider_display()}

    def arguments(self):
        return {}


class AttendanceForm(SubmittedOnce, MeasureForm):
    attendance = forms.ChoiceField(
        choices=[
            (CourseMeeting.Attendance.ATTENDED, _("Attended")),
            (CourseMeeting.Attendance.ABSENT, _("Absent")),
        ],
        widget=forms.RadioSelect,
    )
    absence_reason = bounds.text_field(
        _("Reason for absence"),
        required=False,
        rows=2,
        help_text=_("Required when the doctor was absent."),
    )

    def __init__(self, *args, measure, meeting, **kwargs):
        recorded = meeting.attendance != CourseMeeting.Attendance.UNKNOWN
        kwargs.setdefault(
            "initial",
            {
                "attendance": meeting.attendance if recorded else None,
                "absence_reason": meeting.absence_reason,
            },
        )
        super().__init__(*args, measure=measure, **kwargs)
        self.meeting = meeting
        self.fields["attendance"].label = _("Attendance at meeting %(n)s (%(date)s)") % {
            "n": meeting.number,
            "date": date_format(meeting.date),
        }

    def clean(self):
        data = super().clean()
        if (
            data.get("attendance") == CourseMeeting.Attendance.ABSENT
            and not data.get("absence_reason", "").strip()
        ):
            self.add_error("absence_reason", _("Give the reason for the absence."))
        return data

    def arguments(self):
        return {
            "meeting": self.meeting,
            "attendance": self.cleaned_data["attendance"],
            "absence_reason": self.cleaned_data["absence_reason"],
            "submission_key": self.cleaned_data["submission_key"],
        }


class CompletionForm(MeasureForm):
    completed_on = bounds.past_date(_("Completed on"))
    initial_from = {"completed_on": "completed_on"}


class ArrangeSupervisionForm(MeasureForm):
    agreed_sessions = forms.IntegerField(
        label=_("Agreed number of sessions"), min_value=1, max_value=100
    )
    period_start = bounds.planned_date(_("Supervision from"))
    period_end = bounds.planned_date(_("Supervision to"))
    initial_from = {n: n for n in ("agreed_sessions", "period_start", "period_end")}

    def clean(self):
        data = super().clean()
        start, end = data.get("period_start"), data.get("period_end")
        if start and end and end < start:
            self.add_error("period_end", _("The period must end after it starts."))
        return data


class SessionForm(SubmittedOnce, MeasureForm):
    date = bounds.planned_date(_("Date"))
    duration_minutes = forms.IntegerField(
        label=_("Duration in minutes"), min_value=1, max_value=600
    )
    topic = bounds.line_field(_("Topic"), bounds.TOPIC_LENGTH)
    status = forms.ChoiceField(
        label=_("Was the session held?"),
        choices=SupervisionSession.Status.choices,
        widget=forms.RadioSelect,
    )

    def clean(self):
        data = super().clean()
        day = data.get("date")
        if data.get("status") == SupervisionSession.Status.HELD and day:
            if day > timezone.localdate():
                self.add_error(
                    "date", _("A session can be recorded as held once it has taken place.")
                )
        return data


class ReportForm(MeasureForm):
    report = bounds.text_field(
        _("Final report"),
        bounds.REPORT_LENGTH,
        rows=6,
        help_text=_("How the supervision went and whether its aims were reached."),
    )
    initial_from = {"report": "final_report"}


class DocumentForm(SubmittedOnce, MeasureForm):
    """Upload a document for the measure. A supervisor uploads reports only."""

    kind = forms.ChoiceField(label=_("Kind of document"), choices=EvidenceDocument.Kind.choices)
    file = forms.FileField(
        label=_("File"), help_text=_("A PDF or an image, such as a scan or a photo.")
    )
    supersedes = forms.ModelChoiceField(
        queryset=EvidenceDocument.objects.none(),
        label=_("Replaces"),
        required=False,
        empty_label=_("Nothing – a new document"),
        help_text=_("The replaced document stays on record, marked as replaced."),
    )

    def __init__(self, *args, measure, reports_only=False, **kwargs):
        super().__init__(*args, measure=measure, **kwargs)
        self.fields["kind"].initial = (
            EvidenceDocument.Kind.SUPERVISOR_REPORT
            if not measure.is_course
            else EvidenceDocument.Kind.ATTENDANCE_LIST
            if measure.course.meeting_count
            else EvidenceDocument.Kind.CERTIFICATE
        )
        replaceable = measure.documents.filter(superseded_by__isnull=True)
        if reports_only:
            self.fields["kind"].choices = [
                c
                for c in self.fields["kind"].choices
                if c[0] == EvidenceDocument.Kind.SUPERVISOR_REPORT
            ]
            replaceable = replaceable.filter(kind=EvidenceDocument.Kind.SUPERVISOR_REPORT)
        self.fields["supersedes"].queryset = replaceable.order_by("uploaded_at", "pk")
        self.fields["supersedes"].label_from_instance = lambda d: (
            f"{d.download_name} ({d.get_kind_display()}, "
            f"{date_format(timezone.localdate(d.uploaded_at))})"
        )

    def clean_file(self):
        file = self.cleaned_data["file"]
        evidence_content_type(file)
        return file

    def arguments(self):
        data = self.cleaned_data
        return {
            "uploaded_file": data["file"],
            "kind": data["kind"],
            "supersedes": data["supersedes"],
            "submission_key": data["submission_key"],
        }


class SupervisorInvitationForm(config_forms.Form):
    """The leader gives the address the supervisor's invitation is sent to (the register has
    none)."""

    email = forms.EmailField(label=_("The supervisor's e-mail address"), max_length=254)
