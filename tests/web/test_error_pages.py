"""The project's own error pages for requests Django refuses before a view sees them: a body
over the upload limit is 413 and names the limit, a request it cannot read is 400; both in
Norwegian in the site's layout, never viewflow's English page."""

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

VIEWFLOW_FACE = "ヽ(ಠ_ಠ)ノ"


def nb(msgid, **values):
    with translation.override("nb"):
        text = translation.gettext(msgid)
    return text % values if values else text


@pytest.fixture
def caseworker_client(world):
    client = Client(raise_request_exception=False)
    client.force_login(world.caseworker)
    return client


def assert_site_page(response):
    html = response.content.decode()
    assert VIEWFLOW_FACE not in html and "VIEW SITE" not in html
    assert 'class="site-header"' in html  # base.html
    assert '<html lang="nb">' in html
    return html


@pytest.mark.parametrize("encoded", [False, True])
def test_a_body_over_the_limit_is_413_with_the_limit_in_norwegian(caseworker_client, encoded):
    text = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    if encoded:
        response = caseworker_client.post(
            "/saker/ny/",
            f"grounds_summary={text}",
            content_type="application/x-www-form-urlencoded",
        )
    else:
        response = caseworker_client.post("/saker/ny/", {"grounds_summary": text})
    assert response.status_code == 413
    html = assert_site_page(response)
    assert nb("What you sent is too large") in html
    # 2 621 440 bytes is 2,5 MB, written the Norwegian way.
    assert "2,5 MB" in html
    assert nb("What you sent is too large") != "What you sent is too large"


def test_too_many_fields_is_400_on_the_projects_page(caseworker_client):
    fields = {f"f{n}": "1" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    response = caseworker_client.post("/saker/ny/", fields)
    assert response.status_code == 400
    html = assert_site_page(response)
    assert nb("The request could not be read") in html
    assert nb("The request could not be read") != "The request could not be read"


def test_an_unknown_host_is_400_on_the_projects_page(db):
    response = Client(raise_request_exception=False).get("/logg-inn/", HTTP_HOST="evil.invalid")
    assert response.status_code == 400
    assert nb("The request could not be read") in assert_site_page(response)


def test_a_malformed_multipart_body_is_400_not_500(caseworker_client):
    response = caseworker_client.post(
        "/saker/ny/", b"garbage", content_type="multipart/form-data; boundary=\x00"
    )
    assert response.status_code == 400
    assert_site_page(response)
