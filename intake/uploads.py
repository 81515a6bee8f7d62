"""Uploads held to ``INTAKE_MAX_UPLOAD_BYTES`` while they are read, never after."""

from __future__ import annotations

import tempfile

from ops.uploads import SizeLimitedUploadHandler  # noqa: F401 - the intake views use it


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
