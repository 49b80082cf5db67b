"""Checking an uploaded logo: the real type from its bytes (never the file name or the client's
content type), size and dimensions, then a re-encode to PNG so no metadata or hidden payload
survives. SVG is refused: it can carry scripts."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 200 * 1024
MAX_WIDTH = 1000
MAX_HEIGHT = 400
FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "WEBP": "WebP"}


class LogoError(ValueError):
    pass


@dataclass(frozen=True)
class CheckedLogo:
    png: bytes
    sha256: str
    width: int
    height: int


def _looks_like_svg(data: bytes) -> bool:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<?xml", b"<svg", b"<!doctype svg")) or b"<svg" in head


def _check_size(name: str, width: int, height: int, either_way: bool = False) -> None:
    fits = width <= MAX_WIDTH and height <= MAX_HEIGHT
    if either_way:
        fits = fits or (height <= MAX_WIDTH and width <= MAX_HEIGHT)
    if not fits:
        raise LogoError(
            _(
                "%(name)s is %(w)s×%(h)s pixels; a logo may be at most %(max_w)s×%(max_h)s pixels.",
                name=name,
                w=width,
                h=height,
                max_w=MAX_WIDTH,
                max_h=MAX_HEIGHT,
            )
        )


def check_logo(data: bytes, filename: str = "") -> CheckedLogo:
    """The logo re-encoded as PNG, or LogoError saying what is wrong with the file."""
    name = filename or _("the file")
    if not data:
        raise LogoError(_("%(name)s is empty.", name=name))
    if len(data) > MAX_BYTES:
        raise LogoError(
            _(
                "%(name)s is %(size)s kB; a logo may be at most %(max)s kB.",
                name=name,
                size=round(len(data) / 1024),
                max=MAX_BYTES // 1024,
            )
        )
    if _looks_like_svg(data):
        raise LogoError(
            _(
                "%(name)s is an SVG image. SVG is not accepted because it can carry scripts; "
                "upload a PNG, JPEG or WebP file.",
                name=name,
            )
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind = probe.format
                probe.verify()
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise LogoError(_("%(name)s is not a PNG, JPEG or WebP image.", name=name)) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise LogoError(
            _("%(name)s is a damaged image (%(reason)s).", name=name, reason=str(exc)[:100])
        ) from None
    if kind not in FORMATS:
        raise LogoError(
            _(
                "%(name)s is a %(kind)s image; upload a PNG, JPEG or WebP file.",
                name=name,
                kind=kind or "?",
            )
        )
    try:
        with Image.open(io.BytesIO(data)) as img:
            # Refuse from the header before decoding anything too large in either orientation.
            _check_size(name, *img.size, either_way=True)
            img.seek(0)  # the first frame of an animated PNG or WebP
            img.load()
            img = ImageOps.exif_transpose(img)
            width, height = img.size
            _check_size(name, width, height)
            has_alpha = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
            clean = img.convert("RGBA" if has_alpha else "RGB")
            out = io.BytesIO()
            clean.save(out, format="PNG", optimize=True)  # no text chunks, EXIF or ICC kept
    except LogoError:
        raise
    except (OSError, SyntaxError, ValueError) as exc:
        raise LogoError(
            _("%(name)s is a damaged image (%(reason)s).", name=name, reason=str(exc)[:100])
        ) from None
    png = out.getvalue()
    return CheckedLogo(png, hashlib.sha256(png).hexdigest(), width, height)
