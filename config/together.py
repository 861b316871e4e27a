"""Several small querysets in one round trip to the database.

A case page shows a dozen short lists (the case's tasks, measures, meetings, documents,
decisions and the history of each), every one a few rows. Asked one by one they are a dozen
round trips, each costing more in the ORM and the network than in the database. ``fetch``
asks them as one UNION ALL: each member selects its rows' concrete fields as one JSON object
(``JSONObject``, on SQLite and PostgreSQL alike) with the queryset's name and its place in the
queryset's own order, and the rows come back as model instances, as the queryset would have
given them. ``attach`` then sets related objects fetched together (select_related's and
prefetch_related's caches), so templates that follow them run no query.

Only plain querysets of concrete fields: no annotations, no select_related, no values().
"""

import json
from collections import defaultdict
from datetime import UTC

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import F, JSONField, Value, Window
from django.db.models.functions import JSONObject, RowNumber


def _member(name, queryset):
    meta = queryset.model._meta
    ordering = queryset.query.order_by or meta.ordering or ("pk",)
    return (
        queryset.order_by()
        .annotate(
            together_name=Value(name),
            together_position=Window(RowNumber(), order_by=_expressions(ordering)),
            together_row=JSONObject(**{f.attname: F(f.attname) for f in meta.concrete_fields}),
        )
        .values_list("together_name", "together_position", "together_row")
    )


def _expressions(ordering):
    result = []
    for item in ordering:
        if hasattr(item, "resolve_expression"):
            result.append(item)
        elif item.startswith("-"):
            result.append(F(item[1:]).desc())
        else:
            result.append(F(item).asc())
    return result


def fetch(querysets: dict, using=DEFAULT_DB_ALIAS) -> dict[str, list]:
    """The rows of each of ``querysets`` (name -> queryset), in its order, in one query."""
    querysets = {name: qs for name, qs in querysets.items() if not _is_empty(qs)}
    if not querysets:
        return {}
    union = _union(querysets)
    return _rows(union.using(using), {n: qs.model for n, qs in querysets.items()}, using)


def _union(querysets):
    members = [_member(name, qs) for name, qs in querysets.items()]
    return members[0].union(*members[1:], all=True) if len(members) > 1 else members[0]


def _rows(found, models, using) -> dict[str, list]:
    """(name, position, JSON row) triples as each name's model instances, in order."""
    rows = defaultdict(list)
    for name, position, row in found:
        rows[name].append((position, row))
    result = {name: [] for name in models}
    for name, pairs in rows.items():
        model = models[name]
        result[name] = [_instance(model, row, using) for _, row in sorted(pairs, key=_first)]
    return result


# The compiled SQL of fetch_compiled's unions: key -> (sql, params, value's places, models).
_compiled = {}
# Two values no real id takes, to find where the value goes in a union's parameters.
_PROBES = (-7_000_001, -7_000_002)


def fetch_compiled(key, build, value, using=DEFAULT_DB_ALIAS) -> dict[str, list]:
    """``fetch(build(value))``, with the union compiled once per ``key`` and database.

    Composing and compiling a union of a dozen querysets takes the ORM some 10–20 ms of
    Python, several times what the database takes to run it; only the value (a case's id)
    changes between requests. ``build`` must make the same querysets for every value, the
    value their only variable; its places are those that differ between two compilations."""
    plan = _compiled.get((key, using))
    if plan is None:
        plan = _compiled[key, using] = _plan(build, using)
    sql, params, slots, models = plan
    if sql is None:
        return {name: [] for name in models}
    params = [value if i in slots else p for i, p in enumerate(params)]
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    return _rows(found, models, using)


def _plan(build, using):
    built = build(_PROBES[0])
    models = {name: qs.model for name, qs in built.items()}
    if all(_is_empty(qs) for qs in built.values()):
        return None, (), frozenset(), models

    def compiled(probe):
        querysets = {name: qs for name, qs in build(probe).items() if not _is_empty(qs)}
        return _union(querysets).query.get_compiler(using=using).as_sql()

    return (*compiled_once(compiled, _PROBES), models)


def compiled_once(compiled, probes=_PROBES) -> tuple[str, tuple, frozenset[int]]:
    """SQL that depends on one value, made by ``compiled(value)`` (SQL and parameters), with
    the places of that value among its parameters: those that differ between the SQL compiled
    for two ``probes``. The ORM's compilation of a union costs more than running it; a query
    compiled once is run with the value put in its places."""
    (sql, params), (other_sql, other_params) = (compiled(probe) for probe in probes)
    if sql != other_sql or len(params) != len(other_params):
        raise RuntimeError("The query must depend on the value alone.")
    slots = frozenset(
        i for i, (a, b) in enumerate(zip(params, other_params, strict=True)) if a != b
    )
    if not slots:
        raise RuntimeError("The query must depend on the value.")
    return sql, tuple(params), slots


def _first(pair):
    return pair[0]


def _is_empty(queryset) -> bool:
    from django.db.models.sql.where import NothingNode

    return any(isinstance(child, NothingNode) for child in queryset.query.where.children)


def _instance(model, row, using):
    if isinstance(row, str):  # a database that hands JSON back as text
        row = json.loads(row)
    connection = connections[using]
    fields = model._meta.concrete_fields
    values = [_value(field, row.get(field.attname), connection) for field in fields]
    return model.from_db(using, [f.attname for f in fields], values)


def _value(field, value, connection):
    """A JSON value as the field's Python value (JSON has no dates, times, decimals or ids)."""
    if value is None:
        return None
    if isinstance(field, JSONField):
        return json.loads(value) if isinstance(value, str) else value
    if hasattr(field, "from_db_value"):
        # A field of its own kind (viewflow's flow and task references): as from a column.
        return field.from_db_value(value, None, connection)
    if isinstance(field, models.BooleanField):
        return bool(value)
    if isinstance(field, models.DateTimeField):
        value = field.to_python(value)
        if settings.USE_TZ and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)  # stored in UTC, as Django writes it
        return value
    if isinstance(field, (models.DateField, models.TimeField, models.DecimalField)):
        return field.to_python(value)
    if isinstance(field, (models.UUIDField, models.DurationField)):
        return field.to_python(value)
    if isinstance(value, float) and isinstance(field, models.IntegerField):
        return int(value)
    return value


def attach(instances, field_name, objects):
    """Set ``instances``' foreign key ``field_name`` to the object of that id in ``objects``
    (a dict by pk), as select_related would: following it runs no query."""
    for instance in instances:
        field = instance._meta.get_field(field_name)
        related_id = getattr(instance, field.attname)
        field.set_cached_value(instance, objects.get(related_id) if related_id else None)


def attach_many(instances, related_name, by_parent: dict):
    """Set ``instances``' reverse or many-to-many relation ``related_name`` to their rows in
    ``by_parent`` (the instance's pk -> its related rows), as prefetch_related would."""
    for instance in instances:
        queryset = getattr(instance, related_name).get_queryset()
        queryset._result_cache = list(by_parent.get(instance.pk, []))
        queryset._prefetch_done = True
        instance._prefetched_objects_cache = getattr(instance, "_prefetched_objects_cache", {})
        # The cache's key is the accessor's name, for a reverse foreign key and a many-to-many.
        instance._prefetched_objects_cache[related_name] = queryset
