"""Nothing a page loads comes from another host (#12): no CDN, font service, analytics or
map tile. A visitor's browser talks to the site only, so nobody else learns who looked up
whom. Every request the pages make is recorded; one to another host is aborted (the test
never reaches the internet) and fails the test."""

import datetime as dt
from urllib.parse import urlsplit

import pytest

from tests.factories import CreditRecordFactory, EntityFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CODE = "91110000600037341L"


@pytest.fixture
def published(frozen_today, shipped_rule_sets):
    entity = EntityFactory(name="北京华为数字技术有限公司", code=CODE)
    CreditRecordFactory(entity=entity, decision_date=dt.date(2026, 6, 15), outcome="罚款人民币三十万元")
    return entity


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/", "home"),
        (f"/entities/{CODE}/", "entity"),
        (f"/en/entities/{CODE}/", "entity-en"),
        ("/api/v1/docs/", "api-docs"),
        ("/api/v1/redoc/", "api-redoc"),
    ],
)
def test_every_request_a_page_makes_goes_to_the_site_itself(page, published, screenshot, path, name):
    site = urlsplit(page.base_url).netloc
    requests, foreign = [], []

    def route(intercepted):
        url = intercepted.request.url
        requests.append(url)
        if urlsplit(url).scheme in ("http", "https", "ws", "wss") and urlsplit(url).netloc != site:
            foreign.append(url)
            intercepted.abort()
        else:
            intercepted.continue_()

    page.route("**/*", route)
    response = page.goto(page.base_url + path, wait_until="networkidle")
    assert response.status == 200
    if name.startswith("api-"):
        # The documentation is drawn from the schema by the page's script: wait for it.
        page.wait_for_selector(".swagger-ui .info, .redoc-wrap", state="attached")
        page.wait_for_load_state("networkidle")
    screenshot(page, f"same-host-{name}")
    assert foreign == []
    assert requests[0] == page.base_url + path
    loaded_from = {urlsplit(url).netloc for url in requests if urlsplit(url).scheme in ("http", "https")}
    assert loaded_from == {site}
    if name.startswith("api-"):
        assert page.base_url + "/api/v1/schema/" in requests
