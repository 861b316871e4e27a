def test_issued_order_waits_for_the_municipality(order, world, client_for):
    page = client_for(world.leader).get("/oppgaver/")
    assert page.status_code == 200
    assert order.case_number.encode() in page.content
