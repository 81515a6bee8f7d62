"""Uploads held to ``INTAKE_MAX_UPLOAD_BYTES`` while they are read, never after."""

from __future__ import annotations

import tempfile

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


class TooLarge(Exception):
    pass


def spool_body(stream, *, limit: int):
    """Copy a request body (a JSON-lines or CSV POST) to a temporary file in blocks, stopping
    past ``limit``; the caller closes the file."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, who closes it
    size = 0
    while block := stream.read(1 << 20):
        size += len(block)
        if size > limit:
            spool.close()
            raise TooLarge
        spool.write(block)
    spool.seek(0)
    return spool
