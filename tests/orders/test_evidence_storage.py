"""Evidence documents live in the storage STORAGES["default"] names (PALEGG_STORAGE): on the
filesystem under MEDIA_ROOT, or in an S3 bucket shared by every node. Here the S3 one is a
real S3 endpoint on loopback (moto's server, over HTTP): a document uploaded through the
measure's page lands in the bucket, private and encrypted, keeps its SHA-256, and comes back
byte for byte through the download page; nothing is written under MEDIA_ROOT, and a backup
finds it in the bucket."""

import hashlib
import uuid

import boto3
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from moto.server import ThreadedMotoServer

from backups.archive import stored_names
from config.settings import _document_storage
from courses.models import EVIDENCE_PREFIX, EvidenceDocument
from tests.orders.http_flow import PDF_BYTES
from tests.orders.test_measure_pages import measure_url, plan

REGION = "eu-north-1"


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint, settings):
    """A fresh private bucket, and STORAGES["default"] set from the PALEGG_STORAGE=s3 variables
    that point at it, exactly as config/settings.py reads them."""
    name = f"palegg-evidence-{uuid.uuid4().hex[:8]}"
    keys = {"aws_access_key_id": "test-key", "aws_secret_access_key": "test-secret"}
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name=REGION, **keys)
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    settings.STORAGES = {
        **settings.STORAGES,
        "default": _document_storage(
            {
                "PALEGG_STORAGE": "s3",
                "PALEGG_S3_BUCKET": name,
                "PALEGG_S3_ENDPOINT_URL": s3_endpoint,
                "PALEGG_S3_REGION": REGION,
                "PALEGG_S3_ACCESS_KEY_ID": keys["aws_access_key_id"],
                "PALEGG_S3_SECRET_ACCESS_KEY": keys["aws_secret_access_key"],
            }
        ),
    }
    return client, name


def test_evidence_goes_to_the_bucket_and_comes_back_through_the_download_page(
    bucket, client_for, world, order, settings
):
    client, name = bucket
    measure = plan(order, world.leader, world.supervisor)[0]
    leader = client_for(world.leader)
    content = PDF_BYTES + b"%" + uuid.uuid4().hex.encode() + b"\n"
    response = leader.post(
        measure_url(measure, "dokumenter/"),
        {
            "document-kind": "certificate",
            "document-file": SimpleUploadedFile("attest.pdf", content, "application/pdf"),
        },
    )
    assert response.status_code == 302

    document = EvidenceDocument.objects.get(measure=measure)
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    stored = client.head_object(Bucket=name, Key=document.file.name)
    assert stored["ContentLength"] == len(content)
    assert stored["ServerSideEncryption"] == "AES256"
    grants = client.get_object_acl(Bucket=name, Key=document.file.name)["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]  # the owner's, nobody else's
    # Should anything ever ask for the file's URL, it names no host that serves it.
    assert "evidence-not-served.invalid" in document.file.url

    download = leader.get(f"/saker/{order.pk}/dokumenter/{document.pk}/")
    assert download.status_code == 200
    assert download.streaming
    body = b"".join(download.streaming_content)
    assert body == content
    assert hashlib.sha256(body).hexdigest() == document.sha256

    assert not settings.MEDIA_ROOT.exists() or not any(settings.MEDIA_ROOT.rglob("*"))
    # What a backup takes from the bucket (manage.py backup lists it the same way).
    assert stored_names(default_storage, EVIDENCE_PREFIX) == [document.file.name]


def test_without_s3_the_documents_follow_media_root(client_for, world, order, settings):
    """The filesystem storage has no location of its own: it reads MEDIA_ROOT
    (PALEGG_DOCUMENT_ROOT), so moving that moves the documents."""
    measure = plan(order, world.leader, world.supervisor)[0]
    response = client_for(world.leader).post(
        measure_url(measure, "dokumenter/"),
        {
            "document-kind": "certificate",
            "document-file": SimpleUploadedFile("attest.pdf", PDF_BYTES, "application/pdf"),
        },
    )
    assert response.status_code == 302
    document = EvidenceDocument.objects.get(measure=measure)
    assert (settings.MEDIA_ROOT / document.file.name).read_bytes() == PDF_BYTES
    assert default_storage.exists(document.file.name)
