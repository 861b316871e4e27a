"""The kinds of deadline an order has, and their names: low enough that the steps table
(orders.steps), the deadline arithmetic (orders.deadlines) and the notices all read them
without reading each other."""

from django.utils.translation import gettext_lazy as _


class Kind:
    PLANNING = "planning"
    TERMS = "terms"
    COMPLETION = "completion"
    APPEAL = "appeal"


LABELS = {
    Kind.PLANNING: _("Measures planned by the municipality"),
    Kind.TERMS: _("Course terms accepted"),
    Kind.COMPLETION: _("Order carried out"),
    Kind.APPEAL: _("Appeal period (klagefrist)"),
}
