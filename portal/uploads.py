"""Uploads held to IMPORT_MAX_UPLOAD_MB while they stream in, not after.

Django writes a whole upload to a temporary file before any form sees it, and
the CSRF check reads it before the view does (for anyone who has the CSRF
cookie, signed in or not): a form's size check came after gigabytes were on
the disk. First in FILE_UPLOAD_HANDLERS, this handler counts the bytes of a
request's files; past the limit, no more of them reach the handlers that store
them, and the file arrives empty but for its size (``OversizedUpload``), which
the import form refuses with its message.

The import's upload page is the only place that takes a file: a request to any
other address has none of its files stored (the limit there is 0).
"""

from __future__ import annotations

import io

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.urls import reverse


class OversizedUpload(UploadedFile):
    """A file that went over the limit: its name and the size sent, no content."""

    def __init__(self, name: str, size: int, content_type: str, charset: str | None) -> None:
        super().__init__(io.BytesIO(b""), name, content_type, size, charset)


class SizeLimitedUploadHandler(FileUploadHandler):
    def __init__(self, request=None) -> None:
        super().__init__(request)
        takes_imports = request is not None and request.path == reverse(
            "admin:customers_importjob_add"
        )
        self.limit = settings.IMPORT_MAX_UPLOAD_MB * 1024 * 1024 if takes_imports else 0
        self.received = 0  # the request's files together
        self.file_size = 0
        self.oversized = False

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.file_size = 0
        self.oversized = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        self.file_size += len(raw_data)
        if self.received > self.limit:
            self.oversized = True
        # None: the chunk goes to no later handler (nothing more is stored).
        return None if self.oversized else raw_data

    def file_complete(self, file_size: int) -> UploadedFile | None:
        if not self.oversized:
            return None  # the next handler returns the stored file
        return OversizedUpload(self.file_name, self.file_size, self.content_type, self.charset)
