"""Files attached to a message, checked and read before anything is saved or sent.

What a file is comes from its content, never from its name or the browser's type alone:

- **Images** (a name or type that says image, or bytes Pillow opens): decoded safely by
  ``avatars.open_image`` (PNG, JPEG, WebP, GIF only, dimensions checked from the header
  before any pixel is decoded, decompression bombs refused), then re-encoded by the server —
  the upload itself is never kept — at most ``MAX_IMAGE_SIDE`` pixels on a side, without its
  metadata: JPEG for photos, PNG for anything else (transparency, screenshots, GIF's first
  frame). So an SVG, or HTML named ``.png``, is refused as "not an image".
- **PDFs** (``%PDF-`` bytes): their text, extracted once with pypdf; none (a scan) is refused.
- **Everything else** must be UTF-8 text without NUL bytes (txt, md, csv, json, code…);
  it is kept as uploaded and served back as ``text/plain``, never as HTML.

Limits (``MAX_ATTACHMENT_BYTES`` per file, ``MAX_ATTACHMENTS`` per message,
``MAX_ATTACHMENT_TOKENS`` for the text of all of them) are the app's configuration.
"""

from __future__ import annotations

import hashlib
import io
import logging
import warnings
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps

from calango.i18n import format_number
from calango.llm import estimate_tokens
from calango.models.attachment import FILE_NAME_MAX, FileKind
from calango.services.avatars import ImageRefused, open_image

MAX_IMAGE_SIDE = 2048
MAX_PDF_PAGES = 500
TEXT_MIME = "text/plain; charset=utf-8"
PDF_MIME = "application/pdf"
_IMAGE_NAMES = (".png", ".jpg", ".jpeg", ".jpe", ".webp", ".gif", ".svg", ".svgz", ".bmp",
                ".tif", ".tiff", ".ico", ".heic", ".heif", ".avif")  # fmt: skip


class AttachmentRefused(ValueError):
    """A file cannot be attached; the message is translated, names the file, is safe to show."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Upload:
    """A file as the browser sent it (``data`` read up to one byte past the size limit)."""

    name: str
    data: bytes
    content_type: str = ""


@dataclass(frozen=True)
class PreparedFile:
    """A checked file, ready to be stored and sent."""

    name: str
    sha256: str  # of the uploaded bytes: the same upload is stored once
    kind: str  # FileKind
    mime: str
    data: bytes  # what is stored and served back (an image: the server's re-encoding)
    text: str | None = None
    width: int | None = None
    height: int | None = None

    @property
    def size(self) -> int:
        """The stored bytes' length."""
        return len(self.data)


def clean_name(name: str) -> str:
    """The name shown and offered for download: its last path part, without control
    characters, at most ``FILE_NAME_MAX`` characters (keeping the extension)."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip() or _("file")
    if len(name) > FILE_NAME_MAX:
        stem, dot, ext = name.rpartition(".")
        ext = ext[:20] if dot else ""
        name = stem[: FILE_NAME_MAX - len(ext) - 1] + "." + ext if ext else name[:FILE_NAME_MAX]
    return name


def _looks_like_image(upload: Upload) -> bool:
    return (
        upload.name.lower().endswith(_IMAGE_NAMES)
        or upload.content_type.lower().startswith("image/")
        or upload.data[:8] == b"\x89PNG\r\n\x1a\n"
        or upload.data[:3] == b"\xff\xd8\xff"
        or upload.data[:6] in (b"GIF87a", b"GIF89a")
        or (upload.data[:4] == b"RIFF" and upload.data[8:12] == b"WEBP")
    )


def _image(upload: Upload, name: str, digest: str) -> PreparedFile:
    try:
        image = open_image(upload.data, MAX_IMAGE_SIDE)
    except ImageRefused as exc:
        raise AttachmentRefused(_("“%(name)s”: %(reason)s", name=name, reason=str(exc))) from None
    source = image.format
    image = ImageOps.exif_transpose(image)  # the photo upright; its metadata is not kept
    if max(image.size) > MAX_IMAGE_SIDE:
        image.thumbnail((MAX_IMAGE_SIDE, MAX_IMAGE_SIDE), Image.Resampling.LANCZOS)
    transparent = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    out = io.BytesIO()
    if source == "JPEG" or (source == "WEBP" and not transparent):
        image.convert("RGB").save(out, format="JPEG", quality=88, optimize=True)
        mime = "image/jpeg"
    else:
        image.convert("RGBA" if transparent else "RGB").save(out, format="PNG", optimize=True)
        mime = "image/png"
    width, height = image.size
    return PreparedFile(name, digest, FileKind.IMAGE, mime, out.getvalue(), None, width, height)


def _pdf_text(data: bytes, name: str) -> str:
    from pypdf import PdfReader  # only a send with a PDF pays for the import

    unreadable = AttachmentRefused(
        _("“%(name)s” could not be read as a PDF. Check the file, or paste its text.", name=name)
    )
    pypdf_log = logging.getLogger("pypdf")
    level = pypdf_log.level
    pypdf_log.setLevel(logging.ERROR)  # a damaged file's warnings are not ours to log
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted and not reader.decrypt(""):
                raise AttachmentRefused(
                    _("“%(name)s” is protected by a password. Remove it and attach it again.",
                      name=name)
                )  # fmt: skip
            if len(reader.pages) > MAX_PDF_PAGES:
                raise AttachmentRefused(
                    _(
                        "“%(name)s” has more than %(limit)s pages. Attach the part you need.",
                        name=name,
                        limit=format_number(MAX_PDF_PAGES),
                    )
                )
            pages = [page.extract_text() or "" for page in reader.pages]
    except AttachmentRefused:
        raise
    except Exception:  # pypdf raises many kinds for broken files
        raise unreadable from None
    finally:
        pypdf_log.setLevel(level)
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text.strip():
        raise AttachmentRefused(
            _(
                "“%(name)s” has no text Calango can read (it may be a scan). Attach its pages "
                "as images, or paste the text.",
                name=name,
            )
        )
    return text


def _text(data: bytes, name: str) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = None
    if text is None or "\x00" in text:
        raise AttachmentRefused(
            _(
                "“%(name)s” is not a text file Calango can read. Attach text in UTF-8 (txt, "
                "md, csv, json, code), a PDF, or a PNG, JPEG, WebP or GIF image.",
                name=name,
            )
        )
    return text.replace("\r\n", "\n")


def prepare_file(upload: Upload) -> PreparedFile:
    """One upload checked and read (see the module's rules); raises AttachmentRefused."""
    name = clean_name(upload.name)
    limit = current_app.config["MAX_ATTACHMENT_BYTES"]
    if len(upload.data) > limit:
        raise AttachmentRefused(
            _(
                "“%(name)s” is larger than %(limit)s MB. Attach a smaller file.",
                name=name,
                limit=format_number(round(limit / (1024 * 1024), 1)),
            ),
            status=413,
        )
    if not upload.data:
        raise AttachmentRefused(_("“%(name)s” is empty.", name=name))
    digest = hashlib.sha256(upload.data).hexdigest()
    if upload.data[:5] == b"%PDF-":
        text = _pdf_text(upload.data, name)
        return PreparedFile(name, digest, FileKind.TEXT, PDF_MIME, upload.data, text)
    if _looks_like_image(upload):
        return _image(upload, name, digest)
    text = _text(upload.data, name)
    return PreparedFile(name, digest, FileKind.TEXT, TEXT_MIME, upload.data, text)


def prepare_files(uploads: list[Upload]) -> list[PreparedFile]:
    """A message's uploads checked, in order, within the count and token limits."""
    if not uploads:
        return []
    config = current_app.config
    if len(uploads) > config["MAX_ATTACHMENTS"]:
        raise AttachmentRefused(
            _(
                "You attached %(count)s files; a message takes at most %(limit)s. Send the "
                "rest in another message.",
                count=format_number(len(uploads)),
                limit=format_number(config["MAX_ATTACHMENTS"]),
            )
        )
    files = [prepare_file(upload) for upload in uploads]
    tokens = sum(estimate_tokens(f.text) for f in files if f.text is not None)
    if tokens > config["MAX_ATTACHMENT_TOKENS"]:
        raise AttachmentRefused(
            _(
                "The attached files hold about %(tokens)s tokens of text; a message takes at "
                "most %(limit)s. Attach fewer or shorter files.",
                tokens=format_number(tokens),
                limit=format_number(config["MAX_ATTACHMENT_TOKENS"]),
            ),
            status=413,
        )
    return files
