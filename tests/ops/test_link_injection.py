"""A path with doubled slashes must not turn the language links into links to another host
(#12: `/en//evil.com/`)."""

import pytest


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/en//evil.com/", {"zh-hans": "/evil.com/", "en": "/en/evil.com/"}),
        ("/en///evil.com/x", {"zh-hans": "/evil.com/x", "en": "/en/evil.com/x"}),
        ("/en/%5Cevil.com/", {"zh-hans": "/%5Cevil.com/", "en": "/en/%5Cevil.com/"}),
    ],
)
def test_language_links_stay_on_this_site(client, db, url, expected):
    response = client.get(url)
    assert response.status_code == 404
    links = {link["code"]: link["url"] for link in response.context["language_links"]}
    assert links == expected
    html = response.content.decode()
    assert "//evil.com" not in html
