"""Writes on measures and evidence. Callers hold the order's lock and have checked access."""

import os

from django.db import transaction

from .models import EvidenceDocument, Measure
from .validators import evidence_content_type


@transaction.atomic
def add_measures(*, order, measures, acting_user) -> list[Measure]:
    """Create the measures planned for ``order``: dicts with kind, course or supervisor_name,
    description and planned_completion."""
    created = []
    for spec in measures:
        measure = Measure(order=order, created_by=acting_user, **spec)
        measure.full_clean()
        measure.save()
        created.append(measure)
    return created


@transaction.atomic
def store_evidence(*, order, uploaded_file, kind, acting_user) -> EvidenceDocument:
    """Keep an uploaded file as evidence on ``order``; never replaces an existing document."""
    content_type = evidence_content_type(uploaded_file)
    document = EvidenceDocument(
        order=order,
        kind=kind,
        original_name=os.path.basename(uploaded_file.name)[:255],
        content_type=content_type,
        size=uploaded_file.size,
        uploaded_by=acting_user,
    )
    document.file.save(uploaded_file.name, uploaded_file, save=False)
    document.save()
    return document


@transaction.atomic
def complete_measures(*, order, acting_user) -> int:
    """Mark every planned measure of ``order`` as carried out (saved one by one, for history)."""
    measures = list(order.measures.filter(status=Measure.Status.PLANNED))
    for measure in measures:
        measure.status = Measure.Status.COMPLETED
        measure.save(update_fields=["status"])
    return len(measures)
