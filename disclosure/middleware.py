from django.utils import translation


class ApiLanguageMiddleware:
    """Pages carry their language in the URL (``/en/…``); the API has one URL per resource,
    so there the client's Accept-Language chooses the language of messages (default: the
    site's)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith("/api/"):
            language = translation.get_language_from_request(request, check_path=False)
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)
