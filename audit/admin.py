"""The access log in the operators' admin site (config/admin.py): to read, never to change or
delete, for anyone (archive_audit is the only way events leave the database). Every look at
it is itself an access event. The list is built not to read the whole table: the newest
first by its unique sequence, a count that stops (CappedCountPaginator), filters from the
vocabulary rather than from the rows, and search by exact values on indexed columns."""

from django.contrib import admin
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from config.admin import CappedCountPaginator, OperatorAdmin

from .actions import Action, label
from .models import AccessEvent, AuditArchive, ChainHead


class ActionFilter(admin.SimpleListFilter):
    title = _("action")
    parameter_name = "action"

    def lookups(self, request, model_admin):
        return Action.choices

    def queryset(self, request, queryset):
        if self.value() in Action.values:
            return queryset.filter(action=self.value())
        return queryset


@admin.register(AccessEvent)
class AccessEventAdmin(OperatorAdmin):
    personal_data = True
    paginator = CappedCountPaginator
    list_display = [
        "sequence",
        "at",
        "user",
        "role",
        "organisation",
        "action_shown",
        "target_type",
        "target_id",
        "case_id",
        "outcome",
    ]
    list_filter = ["outcome", "role", ActionFilter]
    list_select_related = ["user"]
    # Only to show the search box: get_search_results matches exact values.
    search_fields = ["case_id"]
    search_help_text = _("An exact case id, object id, sequence number or user name.")

    @admin.display(description=_("action"))
    def action_shown(self, event):
        return label(event.action, refused=event.outcome == AccessEvent.Outcome.REFUSED)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        match = Q(case_id=term) | Q(target_id=term) | Q(user__username=term)
        if term.isdigit() and len(term) < 19:
            match |= Q(sequence=int(term))
        return queryset.filter(match), False

    def view_authority_id(self, event):
        # The authority whose log was looked at: its security officer sees the look.
        return event.authority_id


@admin.register(AuditArchive)
class AuditArchiveAdmin(OperatorAdmin):
    list_display = [
        "archived_at",
        "performed_by",
        "cutoff",
        "first_sequence",
        "last_sequence",
        "event_count",
        "file_name",
    ]


@admin.register(ChainHead)
class ChainHeadAdmin(OperatorAdmin):
    list_display = ["sequence", "hash"]
