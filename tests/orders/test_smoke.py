def test_issued_order_waits_for_the_municipality(order, world, client_for):
    page = client_for(world.leader).get("/oppgaver/")
    assert page.status_code == 200
    assert order.case_number.encode() in page.content


def test_an_id_too_large_for_the_database_is_not_found(world, client_for):
    client = client_for(world.caseworker)
    huge = "9" * 30
    for url in (
        f"/saker/{huge}/",
        f"/saker/1/tiltak/{huge}/",
        f"/myndigheter/{huge}/",
        f"/kurs/{huge}/",
    ):
        assert client.get(url).status_code == 404
