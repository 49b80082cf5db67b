"""An address no page answers gets the service's own 404 page in the visitor's language."""

from __future__ import annotations


def test_unknown_address_gets_the_service_page_in_danish_then_english(client):
    r = client.get("/no/such/page")
    assert r.status_code == 404
    html = r.get_data(as_text=True)
    assert "Siden findes ikke" in html and 'href="/"' in html
    assert "Not Found" not in html  # not the framework's page
    assert "Content-Security-Policy" in r.headers
    client.get("/lang/en")
    r = client.get("/no/such/page")
    assert r.status_code == 404 and "Page not found" in r.get_data(as_text=True)


def test_unknown_api_address_answers_json(client):
    r = client.get("/api/nothing-here")
    assert r.status_code == 404 and r.is_json
    assert r.get_json()["error"]["code"] == "not_found"
