"""Progress photos: uploads re-encoded as JPEG without metadata, scaled, with a small variant.

A phone's photo carries where it was taken (GPS EXIF), the camera, sometimes the
owner's name; none of it may reach the public page. The pixels alone are copied
into a new image and written again, so nothing but the picture survives.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageDraw, UnidentifiedImageError

#: Longer side of the small variant shown on the residents' page, in pixels.
THUMB_SIDE = 400
#: Pixels an upload may decode to (a 64-megapixel camera); more is refused unread.
MAX_PIXELS = 64_000_000
_FORMATS = ["JPEG", "PNG"]  # JPEG opens multi-picture (MPO) files from phones too


class PhotoError(ValueError):
    """An upload refused: `reason` is "not_an_image" or "too_many_pixels"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Photo:
    """A photo as it is stored: re-encoded JPEG bytes, their size, a small variant."""

    data: bytes
    width: int
    height: int
    thumb: bytes


def _encode(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


def _clean_rgb(image: Image.Image) -> Image.Image:
    """Return the pixels alone in RGB: a new image carries no EXIF, XMP, ICC or comment."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    rgb = image.convert("RGB")
    return Image.frombytes("RGB", rgb.size, rgb.tobytes())


#: EXIF orientation -> the transpositions that turn the picture upright.
_ORIENTATIONS: dict[int, tuple[Image.Transpose, ...]] = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}


def _upright(image: Image.Image) -> Image.Image:
    """Turn the picture as its EXIF orientation says; as it is when the EXIF is unreadable.

    Only the orientation tag is read: Pillow's `exif_transpose` writes the EXIF back,
    which fails on the damaged EXIF that phones and chat apps' editors produce.
    """
    try:
        orientation = int(image.getexif().get(0x0112, 1))
    except Exception:  # noqa: BLE001 - any damage to the EXIF means "no orientation"
        orientation = 1
    turned = image
    for step in _ORIENTATIONS.get(orientation, ()):
        turned = turned.transpose(step)
    return turned if turned is not image else image.copy()


def process_photo(data: bytes, *, max_side: int) -> Photo:
    """Re-encode an uploaded JPEG or PNG as a stored Photo.

    Turned upright by its EXIF orientation, scaled to fit max_side, written as
    JPEG without any metadata. Raises PhotoError "not_an_image" or "too_many_pixels".
    """
    try:
        with warnings.catch_warnings():
            # Pillow warns about damaged EXIF, which is thrown away here anyway.
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=_FORMATS) as opened:
                if opened.width * opened.height > MAX_PIXELS:
                    raise PhotoError("too_many_pixels")
                if opened.format in ("JPEG", "MPO"):  # decode at 1/2, 1/4, 1/8 scale
                    opened.draft("RGB", (max_side, max_side))
                upright = _upright(opened)
                upright.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
                image = _clean_rgb(upright)
    except PhotoError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise PhotoError("too_many_pixels") from error
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise PhotoError("not_an_image") from error
    small = image.copy()
    small.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    return Photo(_encode(image, 80), image.width, image.height, _encode(small, 70))


def demo_photo(caption: int, *, width: int = 960, height: int = 720) -> Photo:
    """Draw a simple picture of a building site (no metadata), stored like an upload."""
    image = Image.new("RGB", (width, height), (196, 214, 232))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, height * 2 // 3, width, height), fill=(150, 140, 120))
    left = width // 5 + 40 * caption
    draw.rectangle((left, height // 4, left + width // 3, height * 2 // 3), fill=(226, 222, 210))
    for row in range(3):
        for column in range(3):
            x = left + 30 + column * (width // 10)
            y = height // 4 + 30 + row * (height // 9)
            draw.rectangle((x, y, x + 40, y + 50), fill=(90, 120, 160))
    for step in range(0, width, 60):  # scaffolding
        draw.line((step, height // 5, step, height * 2 // 3), fill=(200, 120, 40), width=5)
    draw.line((0, height // 5, width, height // 5), fill=(200, 120, 40), width=5)
    out = io.BytesIO()
    image.save(out, "PNG")
    return process_photo(out.getvalue(), max_side=1600)
