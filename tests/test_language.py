"""Norwegian bokmål by default, English on request through Django's i18n."""


def test_pages_are_norwegian_even_for_an_english_browser(world, client_for):
    page = client_for(world.caseworker).get("/oppgaver/", HTTP_ACCEPT_LANGUAGE="en-US,en")
    assert page["Content-Language"] == "nb"
    assert "Mine oppgaver" in page.content.decode()


def test_user_can_switch_to_english_and_back(world, client_for):
    client = client_for(world.caseworker)
    client.post("/i18n/setlang/", {"language": "en", "next": "/oppgaver/"})
    page = client.get("/oppgaver/")
    assert page["Content-Language"] == "en"
    assert "My tasks" in page.content.decode()
    client.post("/i18n/setlang/", {"language": "nb", "next": "/oppgaver/"})
    assert "Mine oppgaver" in client.get("/oppgaver/").content.decode()


def test_unknown_language_cookie_falls_back_to_norwegian(world, client_for):
    client = client_for(world.caseworker)
    client.cookies["django_language"] = "xx"
    assert client.get("/oppgaver/")["Content-Language"] == "nb"
