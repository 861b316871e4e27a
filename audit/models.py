"""The access log: one row per read of a case or document, shown or refused, chained by hash
so that a changed, removed or inserted row shows (Normen: logs must be tamper-evident)."""

import pgtrigger
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .triggers import forward_only_head


# On PostgreSQL the database itself refuses to change or remove a row; only archive_audit may
# remove events, under pgtrigger.ignore and after writing them to a file.
def append_only_trigger():
    return pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete)


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnly(f"{self.model.__name__} rows are never changed.")

    def delete(self):
        raise AppendOnly(f"{self.model.__name__} rows are removed only by archive_audit.")

    def bulk_update(self, *args, **kwargs):
        raise AppendOnly(f"{self.model.__name__} rows are never changed.")


class AppendOnly(Exception):
    pass


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnly(f"{type(self).__name__} rows are never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly(f"{type(self).__name__} rows are removed only by archive_audit.")


class Role(models.TextChoices):
    """The capacity someone acted in when the event was written."""

    CASEWORKER = "caseworker", _("Caseworker")
    ADMINISTRATOR = "administrator", _("Administrator")
    SECURITY_OFFICER = "security_officer", _("Security officer")
    LEADER = "leader", _("Municipal leader")
    PERSONNEL = "personnel", _("The health personnel concerned")
    # Health personnel outside a case of their own (a search, a refused look at another case).
    HEALTH_PERSONNEL = "health_personnel", _("Health personnel")
    SUPERVISOR = "supervisor", _("Supervisor")
    NONE = "", _("No role")


class AccessEvent(AppendOnlyModel):
    class Outcome(models.TextChoices):
        SHOWN = "shown", _("shown")
        REFUSED = "refused", _("refused")

    sequence = models.PositiveBigIntegerField(_("sequence number"), unique=True)
    at = models.DateTimeField(_("time"), db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, blank=True)
    # As it was when the event happened: people change jobs, the log must not.
    organisation = models.CharField(_("organisation"), max_length=200, blank=True)
    # The authority whose security officer oversees this event (the case's authority, or the
    # one the user acted under); empty for events that belong to no authority.
    authority_id = models.PositiveIntegerField(_("overseeing authority"), null=True, blank=True)
    action = models.CharField(_("action"), max_length=50)
    target_type = models.CharField(_("object type"), max_length=50)
    target_id = models.CharField(_("object id"), max_length=50)
    case_id = models.CharField(_("case"), max_length=50, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    previous_hash = models.CharField(_("previous hash"), max_length=64, blank=True)
    hash = models.CharField(_("hash"), max_length=64)

    class Meta:
        ordering = ["-sequence"]
        verbose_name = _("access event")
        verbose_name_plural = _("access events")
        # Every index is written with every event, under the chain's lock: only those the
        # reads use (checked with EXPLAIN on 1.3 million events). Besides these: the sequence
        # (unique: verify, the export, the search's order), the time (a search for a period,
        # archive_audit) and the user (the search by user, and PROTECT when a user is deleted).
        indexes = [
            # Innsyn and the case's timeline: one case's events, shown or refused, by time.
            models.Index(fields=["case_id", "outcome", "at"]),
            # The security officer's search: one authority's events, newest first.
            models.Index(fields=["authority_id", "sequence"]),
            # The search for an action that is rare (an export among a million reads).
            models.Index(fields=["action"]),
        ]
        triggers = [append_only_trigger()]

    def __str__(self):
        return f"#{self.sequence} {self.at:%Y-%m-%d %H:%M} {self.user_id} {self.action}"


class ChainHead(models.Model):
    """The newest link: writers lock this one row, so events are chained one at a time. On
    PostgreSQL its trigger lets it move only forward, to an event that exists."""

    sequence = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("audit chain head")
        verbose_name_plural = _("audit chain head")
        triggers = [forward_only_head(AccessEvent._meta.db_table)]

    def __str__(self):
        return f"#{self.sequence} {self.hash}"


class AuditArchive(AppendOnlyModel):
    """A run of archive_audit: which events left the database, to which file, and the link the
    chain continues from (so verify_audit can start after the archived part)."""

    archived_at = models.DateTimeField(_("archived"))
    performed_by = models.CharField(_("performed by"), max_length=150)
    cutoff = models.DateTimeField(_("events older than"))
    first_sequence = models.PositiveBigIntegerField(_("first event"))
    last_sequence = models.PositiveBigIntegerField(_("last event"))
    last_hash = models.CharField(_("hash of the last event"), max_length=64)
    event_count = models.PositiveIntegerField(_("number of events"))
    file_name = models.CharField(_("file"), max_length=500)
    file_sha256 = models.CharField(_("SHA-256 of the file"), max_length=64)

    class Meta:
        ordering = ["-last_sequence"]
        verbose_name = _("audit archive")
        verbose_name_plural = _("audit archives")
        triggers = [append_only_trigger()]

    def __str__(self):
        return f"{self.file_name} ({self.first_sequence}–{self.last_sequence})"
