import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _language_restored():
    """Requests to /en/… and API calls in English activate a language for the thread; the
    tests that follow expect the site's default."""
    with translation.override(translation.get_language()):
        yield
