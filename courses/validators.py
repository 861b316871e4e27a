"""Checks on uploaded evidence: by content, not by the name the user gave the file."""

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

# PDF and the image types a scanner or phone produces; nothing that can run or script.
ALLOWED_TYPES = {
    "application/pdf": "PDF",
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/gif": "GIF",
    "image/webp": "WebP",
    "image/tiff": "TIFF",
    "image/heic": "HEIC",
}


def evidence_content_type(uploaded_file) -> str:
    """Return the detected content type of an acceptable file, or raise ValidationError."""
    name = getattr(uploaded_file, "name", "")
    if uploaded_file.size == 0:
        raise ValidationError(_("The file %(name)s is empty.") % {"name": name}, code="empty")
    if uploaded_file.size > settings.EVIDENCE_MAX_BYTES:
        raise ValidationError(
            _("The file %(name)s is %(size)s; the largest allowed is %(max)s.")
            % {
                "name": name,
                "size": filesizeformat(uploaded_file.size),
                "max": filesizeformat(settings.EVIDENCE_MAX_BYTES),
            },
            code="too_large",
        )
    uploaded_file.seek(0)
    head = uploaded_file.read(8192)
    uploaded_file.seek(0)
    kind = filetype.guess(head)
    if kind is None or kind.mime not in ALLOWED_TYPES:
        raise ValidationError(
            _("The file %(name)s is not a PDF or an image. Allowed types: %(types)s.")
            % {"name": name, "types": ", ".join(ALLOWED_TYPES.values())},
            code="type",
        )
    return kind.mime
