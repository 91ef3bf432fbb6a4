"""Persona avatars from uploaded images: checked, decoded safely, re-encoded as a PNG.

The uploaded bytes are never stored or served. An upload is refused when it is too large,
when Pillow cannot open it as one of a few raster formats (so SVG, HTML pretending to be a
PNG and other documents are refused), or when its dimensions are too large: the header is
read and checked before any pixel is decoded, and ``Image.MAX_IMAGE_PIXELS`` stops
decompression bombs in Pillow itself. What is kept is a fresh PNG of at most 256×256 pixels.
"""

from __future__ import annotations

import io
import warnings

from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from calango.i18n import format_number

AVATAR_SIZE = 256
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # ~6300×6300: a photo from any phone, not a bomb
MAX_SIDE = 12_000
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF")
MIME_TYPE = "image/png"


class ImageRefused(ValueError):
    """The upload cannot be used as an image; the message is translated and safe to show."""


AvatarRefused = ImageRefused  # what the persona form catches


def open_image(data: bytes, draft_side: int) -> Image.Image:
    """The first frame of an uploaded raster image, decoded safely (see the module's rules);
    a JPEG is decoded at a reduced scale when it is much larger than ``draft_side``.

    Raises :class:`ImageRefused` for an empty upload, anything Pillow does not open as a PNG,
    JPEG, WebP or GIF, and dimensions beyond ``MAX_PIXELS`` / ``MAX_SIDE``."""
    if not data:
        raise ImageRefused(_("The file is empty."))
    not_an_image = ImageRefused(
        _("This file is not an image Calango can use. Upload a PNG, JPEG, WebP or GIF.")
    )
    too_many_pixels = ImageRefused(
        _(
            "The image has more than %(limit)s million pixels. Pick a smaller one.",
            limit=format_number(MAX_PIXELS // 1_000_000),
        )
    )
    try:
        with warnings.catch_warnings():
            # A DecompressionBombWarning is an error here, not a log line.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(ACCEPTED_FORMATS))
            width, height = image.size  # from the header: nothing decoded yet
            if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
                raise too_many_pixels
            image.seek(0)  # the first frame of an animation
            image.draft("RGB", (draft_side, draft_side))  # JPEG: decode smaller
            image.load()
    except ImageRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_many_pixels from None
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,  # some plugins raise it for broken headers
        EOFError,
    ):
        raise not_an_image from None
    return image


def make_avatar(data: bytes) -> bytes:
    """A square PNG of at most ``AVATAR_SIZE`` pixels made from an uploaded image.

    Raises :class:`AvatarRefused` for anything that is not a reasonably sized raster image.
    """
    if len(data) > MAX_UPLOAD_BYTES:
        raise AvatarRefused(
            _(
                "The image is larger than %(limit)s MB. Pick a smaller one.",
                limit=format_number(MAX_UPLOAD_BYTES // (1024 * 1024)),
            )
        )
    image = open_image(data, AVATAR_SIZE * 2)
    image = ImageOps.exif_transpose(image)
    image = image.convert("RGBA")
    square = ImageOps.fit(image, (AVATAR_SIZE, AVATAR_SIZE), method=Image.Resampling.LANCZOS)
    out = io.BytesIO()
    square.save(out, format="PNG", optimize=True)
    return out.getvalue()
