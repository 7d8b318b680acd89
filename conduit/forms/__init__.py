"""Forms and uploads: ``application/x-www-form-urlencoded`` and ``multipart/form-data``.

Built on python-multipart's streaming parsers (the ones Starlette and FastAPI use):
:func:`parse_form` feeds them the body as it arrives, spools each file to a
temporary file past ``FormLimits.spool_max_size`` and enforces every limit
(:class:`FormLimits`) as the bytes come in, never after buffering. Disk IO of a
spooled file runs in a worker thread, which is why this is its own package and not
part of the sans-IO :mod:`conduit.http`.
"""

from .parser import FormData, FormLimits, parse_form
from .upload import UploadFile

__all__ = ["FormData", "FormLimits", "UploadFile", "parse_form"]
