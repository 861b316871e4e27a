"""Checks on uploaded evidence: by content, not by the name the user gave the file."""

import os
import re
import unicodedata
import zlib

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

# The extensions a downloaded file may carry for each type; the first is the one given to a
# name that has none of them (a browser or the OS picks the program by the extension).
EXTENSIONS = {
    "application/pdf": ("pdf",),
    "image/png": ("png",),
    "image/jpeg": ("jpg", "jpeg", "jpe"),
    "image/gif": ("gif",),
    "image/webp": ("webp",),
    "image/tiff": ("tif", "tiff"),
    "image/heic": ("heic", "heif"),
}

# PDF names that make a reader run something, act on opening, or carry other files inside.
# /OpenAction alone is allowed (it usually just opens page 1); a script it starts is /JS.
ACTIVE_PDF_NAMES = frozenset(
    {
        b"JS",
        b"JavaScript",
        b"Launch",
        b"EmbeddedFile",
        b"EmbeddedFiles",
        b"AA",
        b"RichMedia",
        b"XFA",
    }
)
# A PDF name: a slash and the regular characters after it (ISO 32000-1, 7.3.5).
_PDF_NAME = re.compile(rb"/([^\x00\t\n\f\r ()<>\[\]{}/%]*)")
_HEX_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_STREAM_START = re.compile(rb"(?<!end)stream\r?\n")
_OBJECT_START = re.compile(rb"\d+\s+\d+\s+obj\b")
# Bounds on the look inside compressed object streams, so a crafted file cannot make the
# check itself the problem (a zip bomb, thousands of streams).
MAX_OBJECT_STREAMS = 2000
MAX_INFLATED_BYTES = 32 * 1024 * 1024


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
    if kind.mime == "application/pdf":
        content = uploaded_file.read(settings.EVIDENCE_MAX_BYTES + 1)
        uploaded_file.seek(0)
        if pdf_is_active(content):
            raise ValidationError(
                _(
                    "The file %(name)s is a PDF with scripts, actions or embedded files, which "
                    "are not accepted. Print it to a new PDF or scan it, and upload that."
                )
                % {"name": name},
                code="active_pdf",
            )
    return kind.mime


def _names_in(data: bytes) -> set[bytes]:
    # #xx escapes spell the same name (/J#61vaScript is /JavaScript).
    return {
        _HEX_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), match.group(1))
        for match in _PDF_NAME.finditer(data)
    }


def _split_streams(content: bytes):
    """The PDF's text outside its streams, and (dictionary, body) of each stream. Stream
    bodies are binary (images, compressed text) and are not searched as they stand: a
    chance "/JS" in a photo would refuse an honest scan."""
    outside, streams, position = [], [], 0
    for start in _STREAM_START.finditer(content):
        if start.start() < position:
            continue  # the word inside a stream already taken
        outside.append(content[position : start.start()])
        end = content.find(b"endstream", start.end())
        end = len(content) if end == -1 else end
        before = content[max(position, start.start() - 2048) : start.start()]
        streams.append((before[before.rfind(b"obj") :], content[start.end() : end]))
        position = end
    outside.append(content[position:])
    return b"\n".join(outside), streams


def pdf_is_active(content: bytes) -> bool:
    """Whether the PDF names JavaScript, a launch action, additional actions, rich media,
    an XFA form or embedded files, in its plain objects or in a compressed object stream."""
    plain, streams = _split_streams(content)
    if _names_in(plain) & ACTIVE_PDF_NAMES:
        return True
    budget, object_streams = MAX_INFLATED_BYTES, 0
    for dictionary, body in streams:
        if b"ObjStm" not in _names_in(dictionary):
            # Objects hidden after a fake "stream" keyword are still objects: look at them.
            if _OBJECT_START.search(body) and _names_in(body) & ACTIVE_PDF_NAMES:
                return True
            continue
        object_streams += 1
        if object_streams > MAX_OBJECT_STREAMS or b"FlateDecode" not in _names_in(dictionary):
            return True  # more than we look through, or a packing we cannot read: refuse
        try:
            inflater = zlib.decompressobj()
            inflated = inflater.decompress(body, budget)
        except zlib.error:
            return True
        budget -= len(inflated)
        if inflater.unconsumed_tail or budget <= 0 or _names_in(inflated) & ACTIVE_PDF_NAMES:
            return True
    return False


def evidence_file_name(name: str, content_type: str) -> str:
    """The name a document is kept and downloaded under: the user's name without folders or
    control characters, ending in an extension of the type found in the content. A wrong
    extension is replaced (``x.html`` holding a PNG becomes ``x.png``), a missing one added."""
    name = os.path.basename((name or "").replace("\\", "/"))
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip(" .")
    stem, extension = os.path.splitext(name)
    allowed = EXTENSIONS.get(content_type)
    if allowed is None:
        return name[:255] or "dokument"
    if extension[1:].lower() in allowed:
        stem, suffix = stem, extension
    else:
        suffix = "." + allowed[0]
    stem = stem.strip(" .") or "dokument"
    return stem[: 255 - len(suffix)] + suffix
