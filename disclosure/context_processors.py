from django.urls import translate_url
from django.utils.translation import get_language

LANGUAGE_LABELS = {"zh-hans": "简体中文", "en": "English"}


def languages(request):
    """The same page in each language, for the switch and for <link rel="alternate">. Plain
    links: they work without JavaScript, and pages carry no per-visitor token, so a rendered
    page can be cached and served to everyone."""
    current = get_language()
    path = request.get_full_path()
    return {
        "language_links": [
            {"code": code, "label": label, "url": translate_url(path, code), "current": code == current}
            for code, label in LANGUAGE_LABELS.items()
        ]
    }
