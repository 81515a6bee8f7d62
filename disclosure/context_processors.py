from django.conf import settings
from django.utils.translation import get_language

LANGUAGE_LABELS = {"zh-hans": "简体中文", "en": "English"}
# Every page lives under i18n_patterns without a prefix for the default language and with
# "/<code>/" for the others, and no URL pattern is translated: the same page in another
# language is the same path with the prefix swapped. (Django's translate_url resolves and
# reverses the path to learn that, on every page.)
PREFIXES = tuple(f"/{code}/" for code in LANGUAGE_LABELS if code != settings.LANGUAGE_CODE)


def in_language(path: str, code: str) -> str:
    for prefix in PREFIXES:
        if path.startswith(prefix):
            path = path[len(prefix) - 1 :]
            break
    # "/en//evil.com/" loses its prefix as "//evil.com/", which a browser reads as another
    # host: a link to this site starts with exactly one slash.
    path = "/" + path.lstrip("/\\")
    return path if code == settings.LANGUAGE_CODE else f"/{code}{path}"


# The main navigation's sections, by the first part of the path (without the language prefix).
SECTIONS = {
    "": "home",
    "search": "home",
    "entities": "home",
    "persons": "home",
    "records": "browse",
    "browse": "browse",
    "lists": "browse",
    "repair": "repair",
    "notices": "notices",
    "policies": "notices",
    "help": "help",
}


def section_of(path: str) -> str:
    path = in_language(path, settings.LANGUAGE_CODE)
    first = path.strip("/").split("/", 1)[0]
    return SECTIONS.get(first, "")


def languages(request):
    """The same page in each language, for the switch and for <link rel="alternate">. Plain
    links: they work without JavaScript, and pages carry no per-visitor token, so a rendered
    page can be cached and served to everyone."""
    current = get_language()
    path = request.get_full_path()
    return {
        "nav_section": section_of(request.path_info),
        "language_links": [
            {"code": code, "label": label, "url": in_language(path, code), "current": code == current}
            for code, label in LANGUAGE_LABELS.items()
        ]
    }
