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

# The next deadline as a list says it: who must do what by then («Kommunen planlegger tiltak –
# 31. desember 2026»). LABELS name the deadline itself, met or not, on the case page.
ACTING = {
    Kind.PLANNING: _("The municipality plans measures"),
    Kind.TERMS: _("The health personnel accepts the course terms"),
    Kind.COMPLETION: _("The municipality confirms the order carried out"),
    Kind.APPEAL: _("The health personnel may appeal (klagefrist)"),
}
