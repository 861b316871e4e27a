"""Evidence files keep a name that tells the truth about their content, and PDFs that could
run something in the reader are refused (issue 10, point 7).

Naming rule: the user's name is kept without folders and control characters; when its
extension is not one of the detected type's, the type's own extension takes its place
(``x.html`` holding a PNG becomes ``x.png``; ``scan.jpeg`` stays ``scan.jpeg``)."""

import zlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from courses.models import EvidenceDocument
from courses.validators import evidence_file_name, pdf_is_active
from tests.orders import lifecycle
from tests.orders.http_flow import PDF_BYTES
from tests.orders.test_measure_pages import measure_url, messages_of, nb, plan

PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
)

ACTIVE_PDF_MESSAGE = (
    "The file %(name)s is a PDF with scripts, actions or embedded files, which "
    "are not accepted. Print it to a new PDF or scan it, and upload that."
)


def pdf_with(*objects: bytes) -> bytes:
    return PDF_BYTES.replace(b"trailer", b"\n".join(objects) + b"\ntrailer")


def object_stream(payload: bytes) -> bytes:
    packed = zlib.compress(payload)
    return (
        b"5 0 obj << /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n"
        % len(packed)
        + packed
        + b"\nendstream\nendobj"
    )


@pytest.fixture
def course(world, order):
    return plan(order, world.leader, world.supervisor)[0]


def upload(client, measure, name, content, content_type="application/octet-stream"):
    file = SimpleUploadedFile(name, content, content_type=content_type)
    return client.post(
        measure_url(measure, "dokumenter/"),
        {"document-kind": "certificate", "document-file": file},
    )


def downloaded_name(client, document):
    response = client.get(f"/saker/{document.order_id}/dokumenter/{document.pk}/")
    assert response.status_code == 200
    return response["Content-Disposition"]


def test_a_png_uploaded_as_html_downloads_as_png(client_for, world, course):
    leader = client_for(world.leader)
    assert upload(leader, course, "x.html", PNG_BYTES, "text/html").status_code == 302

    document = EvidenceDocument.objects.get(measure=course)
    assert (document.original_name, document.content_type) == ("x.png", "image/png")
    assert downloaded_name(leader, document) == 'attachment; filename="x.png"'


def test_a_pdf_with_a_crafted_file_name_downloads_as_pdf(client_for, world, course):
    leader = client_for(world.leader)
    response = upload(leader, course, "../../evil.html", PDF_BYTES, "text/html")
    assert response.status_code == 302

    document = EvidenceDocument.objects.get(measure=course)
    assert document.original_name == "evil.pdf"
    assert downloaded_name(leader, document) == 'attachment; filename="evil.pdf"'


def test_a_document_stored_earlier_under_a_wrong_name_downloads_by_its_content(
    client_for, world, course
):
    document = EvidenceDocument(
        order=course.order,
        measure=course,
        kind=EvidenceDocument.Kind.CERTIFICATE,
        original_name="evil.html",
        content_type="application/pdf",
        size=len(PDF_BYTES),
        uploaded_by=world.leader,
    )
    document.file.save("old", ContentFile(PDF_BYTES), save=False)
    document.save()

    leader = client_for(world.leader)
    assert downloaded_name(leader, document) == 'attachment; filename="evil.pdf"'
    # The link says what the download will be called.
    for url in (f"/saker/{course.order_id}/", measure_url(course)):
        html = leader.get(url).content.decode()
        assert ">evil.pdf</a>" in html and ">evil.html</a>" not in html, url


@pytest.mark.parametrize(
    "name, content_type, expected",
    [
        ("scan.jpeg", "image/jpeg", "scan.jpeg"),
        ("SCAN.PDF", "application/pdf", "SCAN.PDF"),
        ("kursbevis", "application/pdf", "kursbevis.pdf"),
        ("C:\\Users\\lege\\bilde.tif", "image/tiff", "bilde.tif"),
        ("ond\x00\r\n.html", "image/png", "ond.png"),
        (".html", "image/gif", "html.gif"),
        ("...", "image/gif", "dokument.gif"),
        ("a" * 300 + ".pdf", "application/pdf", "a" * 251 + ".pdf"),
    ],
)
def test_file_names_follow_the_content(name, content_type, expected):
    assert evidence_file_name(name, content_type) == expected


ACTIVE_PDFS = {
    "javascript": pdf_with(b"3 0 obj << /S /JavaScript /JS (app.alert(1)) >> endobj"),
    "open-action-js": pdf_with(b"3 0 obj << /OpenAction << /S /JavaScript /JS 4 0 R >> >> endobj"),
    "launch": pdf_with(b"3 0 obj << /S /Launch /F (cmd.exe) >> endobj"),
    "embedded-file": pdf_with(b"3 0 obj << /Type /EmbeddedFile /Length 3 >> endobj"),
    "embedded-files": pdf_with(b"3 0 obj << /EmbeddedFiles 4 0 R >> endobj"),
    "additional-actions": pdf_with(b"3 0 obj << /AA << /O 4 0 R >> >> endobj"),
    "rich-media": pdf_with(b"3 0 obj << /Subtype /RichMedia >> endobj"),
    "xfa": pdf_with(b"3 0 obj << /XFA 4 0 R >> endobj"),
    "hex-escaped-name": pdf_with(b"3 0 obj << /S /J#61vaScript /J#53 (x) >> endobj"),
    "inside-object-stream": pdf_with(object_stream(b"3 0 << /S /JavaScript /JS (app.alert(1)) >>")),
    "hidden-behind-fake-stream": pdf_with(
        b"3 0 obj << /Length 0 >>\nstream\n4 0 obj << /S /Launch >> endobj\nendstream"
    ),
}


@pytest.mark.parametrize("content", ACTIVE_PDFS.values(), ids=ACTIVE_PDFS.keys())
def test_an_active_pdf_is_refused_with_a_message_and_nothing_is_stored(
    client_for, world, course, content
):
    response = upload(client_for(world.leader), course, "kursbevis.pdf", content)

    assert response.status_code == 200
    assert nb(ACTIVE_PDF_MESSAGE, name="kursbevis.pdf") in response.content.decode()
    assert not EvidenceDocument.objects.filter(order=course.order).exists()


def test_an_active_pdf_is_refused_at_the_confirmation_step_too(client_for, world, order):
    lifecycle.advance(order, world.leader, "confirm_completion")
    task = lifecycle.open_task(order, "confirm_completion")
    file = SimpleUploadedFile("bevis.pdf", ACTIVE_PDFS["launch"], content_type="application/pdf")
    response = client_for(world.leader).post(
        f"/saker/{order.pk}/steg/{task.pk}/",
        {"note": "Gjennomført.", "document_kind": "certificate", "files": file},
    )

    assert response.status_code == 200
    assert nb(ACTIVE_PDF_MESSAGE, name="bevis.pdf") in response.content.decode()
    assert not EvidenceDocument.objects.filter(order=order).exists()


def test_plain_pdfs_pass_also_with_binary_streams_and_harmless_objects(client_for, world, course):
    photo = b"\xff\xd8\xff /JS /AA /Launch) binary"  # chance bytes in an image stream
    content = pdf_with(
        b"3 0 obj << /OpenAction [1 0 R /Fit] >> endobj",
        b"4 0 obj << /Filter /DCTDecode /Length %d >>\nstream\n" % len(photo)
        + photo
        + b"\nendstream\nendobj",
        object_stream(b"6 0 << /Type /Page /Parent 2 0 R >>"),
    )
    assert not pdf_is_active(content)
    response = upload(client_for(world.leader), course, "skann.pdf", content)
    assert response.status_code == 302, messages_of(response)
    assert EvidenceDocument.objects.filter(order=course.order).count() == 1
