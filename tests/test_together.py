"""config.together: several querysets in one query give the rows each would give alone, in
its order, as model instances equal field by field; compiled once, a union still answers for
whichever case it is asked about."""

from viewflow.workflow.models import Task

from config import together
from courses.models import Measure
from orders.models import Order
from tests import factories
from tests.orders import lifecycle


def fields(instance):
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def querysets(pk):
    return {
        "tasks": Task.objects.filter(process_id=pk).order_by("-created", "pk"),
        "measures": Measure.objects.filter(order_id=pk),
        "history": Order.history.filter(process_ptr_id=pk).order_by("history_date"),
        "nothing": Measure.objects.none(),
    }


def test_rows_fetched_together_equal_the_querysets_own(world):
    order = factories.issue_order(
        caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=1
    )
    lifecycle.plan(order, world.leader, measures=2)

    fetched = together.fetch(querysets(order.pk))

    for name, queryset in querysets(order.pk).items():
        expected = [fields(row) for row in queryset]
        assert [fields(row) for row in fetched.get(name, [])] == expected, name
    assert len(fetched["measures"]) == 2 and fetched["tasks"]


def test_a_union_compiled_once_answers_for_every_case(world):
    first, second = (
        factories.issue_order(
            caseworker=world.caseworker, authority=world.authority, personnel=world.gp, number=n
        )
        for n in (1, 2)
    )
    lifecycle.plan(second, world.leader, measures=1)

    for order in (first, second, first):
        fetched = together.fetch_compiled("test", querysets, order.pk)
        for name, queryset in querysets(order.pk).items():
            assert [r.pk for r in fetched[name]] == [r.pk for r in queryset], (order, name)
