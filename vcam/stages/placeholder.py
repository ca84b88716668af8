"""Still frames the virtual camera shows when there is no live picture, and captions."""

from __future__ import annotations

import cv2
import numpy as np


def placeholder(width: int, height: int, title: str, detail: str = "") -> np.ndarray:
    """A dark BGR frame with a centred title (and a smaller detail line)."""
    img = np.full((height, width, 3), (48, 40, 36), np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    scale = max(0.5, width / 900)
    thick = max(1, round(scale * 2))
    for text, s, dy in ((title, scale, 0.0), (detail, scale * 0.55, 1.6)):
        if not text:
            continue
        (tw, th), _ = cv2.getTextSize(text, font, s, thick)
        x = max(0, (width - tw) // 2)
        y = int(height / 2 + dy * th * 1.4)
        cv2.putText(img, text, (x, y), font, s, (235, 235, 235), thick, cv2.LINE_AA)
    return img


def caption(img: np.ndarray, text: str, scale: float = 0.5) -> np.ndarray:
    """Write ``text`` in the top-left corner of ``img`` (in place), white on a darkened band.

    A band rather than a dark outline: OpenCV 5 draws thicker text in a bolder,
    wider font, so an outline drawn with a thicker stroke does not line up.
    """
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    pad = max(4, th // 2)
    band = img[0:th + 2 * pad + 2, 0:min(img.shape[1], tw + 2 * pad)]
    band //= 3
    cv2.putText(img, text, (pad, th + pad), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1,
                cv2.LINE_AA)
    return img
