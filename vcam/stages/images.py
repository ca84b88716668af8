"""Reading still images: one decoder for backgrounds and for `vcam apply`."""

from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps


class ImageReadError(ValueError):
    """An image could not be read; the message names the file and why."""


def read_bgr(path: Path, *, max_pixels: int | None = None, purpose: str = "an image"
             ) -> np.ndarray:
    """``path`` as HxWx3 BGR uint8, upright by its EXIF orientation (alpha dropped).

    With ``max_pixels`` the size is checked from the header before any pixel is
    decoded, so a decompression bomb is refused without touching the memory.
    """
    try:
        with warnings.catch_warnings():
            # Our own limit decides where one is given, with a message the user can act on.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
        with im:
            if max_pixels is not None and im.width * im.height > max_pixels:
                raise ImageReadError(
                    f"{path}: {im.width}x{im.height} is too large for {purpose} "
                    f"(at most {max_pixels // 1_000_000} megapixels)")
            rgb = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    except ImageReadError:
        raise
    except Image.DecompressionBombError as e:
        raise ImageReadError(f"{path}: too large for {purpose} ({e})") from None
    except FileNotFoundError:
        raise ImageReadError(f"{path}: no such file") from None
    except Exception as e:  # Pillow raises many types for bad files
        raise ImageReadError(f"{path}: not a readable image ({e})") from None
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
