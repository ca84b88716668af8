#!/usr/bin/env python3
"""Render SelfieCam's bundled backgrounds into assets/backgrounds/.

They are made here, from numbers, so the project owns them outright: soft
gradients, an out-of-focus "bokeh" room, and a short seamless video loop of
drifting lights.  Run it again to regenerate them (the output is deterministic).
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

OUT = Path(__file__).resolve().parent.parent / "assets" / "backgrounds"
W, H = 1920, 1080


def gradient(top: tuple[int, int, int], bottom: tuple[int, int, int], w: int = W,
             h: int = H) -> np.ndarray:
    """A vertical RGB gradient with a slight vignette, as float32 0..1."""
    t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    img = (1 - t) * np.array(top, np.float32) / 255 + t * np.array(bottom, np.float32) / 255
    img = np.broadcast_to(img, (h, w, 3)).copy()
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.hypot((xx - w / 2) / (w / 2), (yy - h / 2) / (h / 2))
    return img * (1 - 0.18 * np.clip(r - 0.4, 0, 1)[..., None])


def bokeh(base: np.ndarray, rng: np.random.Generator, n: int, colours: list[tuple[int, int, int]],
          phase: float = 0.0) -> np.ndarray:
    """Soft out-of-focus discs added over ``base`` (float32 RGB 0..1)."""
    h, w = base.shape[:2]
    light = np.zeros_like(base)
    scale = w / W
    for i in range(n):
        x0, y0 = rng.uniform(0, w), rng.uniform(0, h * 0.8)
        rad = rng.uniform(25, 90) * scale
        c = np.array(colours[i % len(colours)], np.float32) / 255 * rng.uniform(0.25, 0.6)
        # Each light drifts on a small circle: phase 0..1 returns to the start (a seamless loop).
        ang = 2 * math.pi * (phase + rng.uniform(0, 1))
        x, y = x0 + 30 * scale * math.cos(ang), y0 + 20 * scale * math.sin(ang)
        cv2.circle(light, (int(x), int(y)), int(rad), c.tolist(), -1, cv2.LINE_AA)
    light = cv2.GaussianBlur(light, (0, 0), 6 * scale)
    return 1 - (1 - base) * (1 - light)  # screen blend


def save(name: str, rgb: np.ndarray) -> None:
    bgr = cv2.cvtColor((np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8), cv2.COLOR_RGB2BGR)
    if name.endswith(".jpg"):
        cv2.imwrite(str(OUT / name), bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
    else:
        cv2.imwrite(str(OUT / name), bgr, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print("wrote", OUT / name)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    warm = [(255, 200, 120), (255, 170, 90), (255, 230, 180)]
    cool = [(140, 190, 255), (120, 230, 255), (200, 170, 255)]
    save("dusk-bokeh.jpg", bokeh(gradient((52, 40, 78), (196, 120, 88)),
                                 np.random.default_rng(1), 40, warm))
    save("ocean-gradient.jpg", gradient((18, 60, 110), (120, 190, 210)))
    save("studio-gray.jpg", gradient((120, 122, 126), (70, 72, 76)))
    save("night-city-bokeh.jpg", bokeh(gradient((10, 14, 40), (40, 30, 70)),
                                       np.random.default_rng(7), 70, cool + warm))
    # A 4 s loop at 640x360, 30 fps: small enough to ship, scaled up it stays soft.
    w, h, fps, n = 640, 360, 30, 120
    base = gradient((28, 32, 60), (70, 50, 90), w, h)
    path = OUT / "drifting-lights.mp4"
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
    for k in range(n):
        rgb = bokeh(base, np.random.default_rng(3), 30, cool + warm, phase=k / n)
        vw.write(cv2.cvtColor((np.clip(rgb, 0, 1) * 255).astype(np.uint8), cv2.COLOR_RGB2BGR))
    vw.release()
    print("wrote", path)


if __name__ == "__main__":
    main()
