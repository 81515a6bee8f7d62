"""Uploads held to the site's largest accepted size while they are read, never after."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload


class SizeLimitedUploadHandler(FileUploadHandler):
    """First in the request's upload handlers: stops reading a multipart body once a file
    passes the limit (the next handler, Django's, spools what was read to a temporary file)."""

    def __init__(self, request=None, *, limit: int):
        super().__init__(request)
        self.limit = limit
        self.exceeded = False

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self.limit + 64 * 1024:
            self.exceeded = True
            raise StopUpload(connection_reset=True)

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            self.exceeded = True
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size):
        return None


class UploadLimitMiddleware:
    """Puts the size limit first among every multipart request's upload handlers, before
    anything reads the body (the NUL guard and the CSRF check both read the form): a body that
    grows past ``MAX_UPLOAD_BYTES`` stops being read, and the view finds out through
    ``request.upload_limit.exceeded``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and (request.content_type or "").startswith("multipart/"):
            request.upload_limit = SizeLimitedUploadHandler(request, limit=settings.MAX_UPLOAD_BYTES)
            request.upload_handlers.insert(0, request.upload_limit)
        return self.get_response(request)
