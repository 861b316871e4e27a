"""The vocabulary of the access log: every action an access event may record, with what it
says when it was shown and when it was refused (Open Zaak's ``audits.py``). Callers pass a
member, never a string of their own; :func:`audit.record` refuses anything not listed here."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Action(models.TextChoices):
    VIEW_CASE = "view_case", _("Opened the case")
    OPEN_STEP = "open_step", _("Opened a step")
    VIEW_MEASURE = "view_measure", _("Opened a measure")
    DOWNLOAD_DOCUMENT = "download_document", _("Downloaded a document")
    MANAGE_CASE = "manage_case", _("Opened a form to manage the case")
    VIEW_CASE_READERS = "view_case_readers", _("Looked at who has seen the case")
    # What is recorded on a measure (courses.actions); an attempt without the
    # right to is logged as refused.
    MEASURE_ENROL = "measure_enrol", _("Enrolled the health personnel in a course")
    MEASURE_ACCEPT_TERMS = "measure_accept_terms", _("Accepted the course terms")
    MEASURE_ATTENDANCE = "measure_attendance", _("Recorded attendance at a course meeting")
    MEASURE_COMPLETION = "measure_completion", _("Recorded that a course was completed")
    MEASURE_ARRANGE = "measure_arrange", _("Arranged supervision")
    MEASURE_SESSION = "measure_session", _("Recorded a supervision session")
    MEASURE_REPORT = "measure_report", _("Submitted the supervision report")
    MEASURE_DOCUMENT = "measure_document", _("Uploaded a document to a measure")
    SEARCH_CASES = "search_cases", _("Searched the case list")
    SEARCH_PERSONNEL = "search_personnel", _("Searched the health personnel register")
    VIEW_MUNICIPALITY = "view_municipality", _("Viewed a municipality overview")
    SEARCH_AUDIT = "search_audit", _("Searched the access log")
    EXPORT_AUDIT = "export_audit", _("Exported the access log")
    ARCHIVE_AUDIT = "archive_audit", _("Archived the access log")
    OPEN_NOTIFICATION = "open_notification", _("Opened a notice")
    VIEW_ORGANISATION = "view_organisation", _("Viewed an organisation's people")
    APPOINT = "appoint", _("Opened the form to appoint someone")
    END_APPOINTMENT = "end_appointment", _("Opened the form to end an appointment")
    EDIT_COURSE = "edit_course", _("Opened the form to edit the course catalog")
    # Logging in and out, and how people are brought in (municipalities: login, OIDC,
    # invitations). A refused LOGIN is a failed login; no password or token is ever recorded.
    LOGIN = "login", _("Logged in")
    LOGOUT = "logout", _("Logged out")
    LOCKOUT = "lockout", _("The account was locked after repeated failed logins")
    UNLOCK = "unlock", _("Opened a locked account")
    SESSION_END = "session_end", _("The session ended")
    INVITATION_SEND = "invitation_send", _("Sent an invitation")
    INVITATION_USE = "invitation_use", _("Used an invitation")
    INVITATION_REVOKE = "invitation_revoke", _("Revoked an invitation")
    PASSWORD_RESET_REQUEST = "password_reset_request", _("Asked for a password reset")
    PASSWORD_RESET = "password_reset", _("Set a new password")
    TWO_FACTOR = "two_factor", _("Confirmed a two-factor code")
    TWO_FACTOR_ENROL = "two_factor_enrol", _("Set up two-factor login")
    # The operators' admin site (config/admin.py): a list, an object or its history of a
    # model that holds personal data (people, health personnel, the access log itself).
    ADMIN_VIEW = "admin_view", _("Looked at personal data in the operators' admin")
    # A page that no view logged: a URL that matches nothing, or an object outside any case.
    OPEN_PAGE = "open_page", _("Opened a page")


REFUSED = {
    Action.VIEW_CASE: _("Refused attempt to open the case"),
    Action.OPEN_STEP: _("Refused attempt to open a step"),
    Action.VIEW_MEASURE: _("Refused attempt to open a measure"),
    Action.DOWNLOAD_DOCUMENT: _("Refused attempt to download a document"),
    Action.MANAGE_CASE: _("Refused attempt to manage the case"),
    Action.VIEW_CASE_READERS: _("Refused attempt to see who has seen the case"),
    Action.MEASURE_ENROL: _("Refused attempt to enrol in a course"),
    Action.MEASURE_ACCEPT_TERMS: _("Refused attempt to accept the course terms"),
    Action.MEASURE_ATTENDANCE: _("Refused attempt to record attendance"),
    Action.MEASURE_COMPLETION: _("Refused attempt to record that a course was completed"),
    Action.MEASURE_ARRANGE: _("Refused attempt to arrange supervision"),
    Action.MEASURE_SESSION: _("Refused attempt to record a supervision session"),
    Action.MEASURE_REPORT: _("Refused attempt to submit the supervision report"),
    Action.MEASURE_DOCUMENT: _("Refused attempt to upload a document to a measure"),
    Action.SEARCH_CASES: _("Refused attempt to search the case list"),
    Action.SEARCH_PERSONNEL: _("Refused attempt to search the health personnel register"),
    Action.VIEW_MUNICIPALITY: _("Refused attempt to view a municipality overview"),
    Action.SEARCH_AUDIT: _("Refused attempt to search the access log"),
    Action.EXPORT_AUDIT: _("Refused attempt to export the access log"),
    Action.ARCHIVE_AUDIT: _("Refused attempt to archive the access log"),
    Action.OPEN_NOTIFICATION: _("Refused attempt to open someone else's notice"),
    Action.VIEW_ORGANISATION: _("Refused attempt to view an organisation's people"),
    Action.APPOINT: _("Refused attempt to appoint someone"),
    Action.END_APPOINTMENT: _("Refused attempt to end an appointment"),
    Action.EDIT_COURSE: _("Refused attempt to edit the course catalog"),
    Action.LOGIN: _("Failed login"),
    Action.LOGOUT: _("Refused logout"),
    Action.LOCKOUT: _("Login refused: the account is locked"),
    Action.UNLOCK: _("Refused attempt to open a locked account"),
    Action.SESSION_END: _("Refused attempt to end a session"),
    Action.INVITATION_SEND: _("Refused attempt to send an invitation"),
    Action.INVITATION_USE: _("Refused use of an invitation"),
    Action.INVITATION_REVOKE: _("Refused attempt to revoke an invitation"),
    Action.PASSWORD_RESET_REQUEST: _("Refused password reset request"),
    Action.PASSWORD_RESET: _("Refused password reset (invalid or used link)"),
    Action.TWO_FACTOR: _("Wrong two-factor code"),
    Action.TWO_FACTOR_ENROL: _("Refused attempt to set up two-factor login"),
    Action.ADMIN_VIEW: _("Refused attempt to look at personal data in the operators' admin"),
    Action.OPEN_PAGE: _("Asked for a page that does not exist or is not theirs"),
}


def label(action: str, refused: bool = False) -> str:
    """What the event says a person did, in the active language. A code no longer in the
    vocabulary (an event from an older version) is shown as it was stored."""
    try:
        member = Action(action)
    except ValueError:
        return action
    return str(REFUSED[member] if refused else member.label)
