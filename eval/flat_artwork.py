"""A flat digital-artwork image set rendered in code: the content photographs do not cover.

Wallpaper gradients, layered flat silhouettes, a city skyline, light and dark UI screenshots, a
cartoon with outlines, low-poly triangles, a chart, flat icons, a pure radial gradient, flat
wave bands and a poster with large type. Every image is drawn here from a fixed seed (nothing
is downloaded, no third-party artwork; text uses Pillow's built-in font, SIL OFL 1.1), shapes
are drawn at twice the size and downsampled with LANCZOS so edges are anti-aliased the way
vector renderers draw them, and gradients are quantised to 8 bits without dither (banding as
in real renders). Sizes mix orientations around one megapixel.

``python eval/flat_artwork.py OUT_DIR`` writes the set as PNG files to look at.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ["FLAT_ARTWORK", "flat_artwork"]

Img = np.ndarray
_SS = 2  # supersampling factor for shapes


def _grid(h: int, w: int) -> tuple[Img, Img]:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return y / max(h - 1, 1), x / max(w - 1, 1)


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: Img) -> Img:
    a_, b_ = np.array(a, np.float32), np.array(b, np.float32)
    return a_ + (b_ - a_) * t[..., None]


def _u8(f: Img) -> Img:
    return np.clip(np.rint(f), 0, 255).astype(np.uint8)


def _canvas(base: Img) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    h, w = base.shape[:2]
    im = Image.fromarray(_u8(base)).resize((w * _SS, h * _SS), Image.BILINEAR)
    return im, ImageDraw.Draw(im)


def _finish(im: Image.Image) -> Img:
    return np.asarray(im.resize((im.width // _SS, im.height // _SS), Image.LANCZOS).convert("RGB"))


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size * _SS)


def gradient_blobs(h: int, w: int, rng: np.random.Generator) -> Img:
    y, x = _grid(h, w)
    img = _mix((38, 70, 160), (230, 120, 170), 0.6 * x + 0.4 * y)
    for _ in range(4):
        cy, cx, r = rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9), rng.uniform(0.15, 0.35)
        colour = rng.integers(80, 255, 3).astype(np.float32)
        weight = np.exp(-(((y - cy) * h) ** 2 + ((x - cx) * w) ** 2) / (2 * (r * min(h, w)) ** 2))
        img = img * (1 - 0.6 * weight[..., None]) + colour * 0.6 * weight[..., None]
    return _u8(img)


def mountains(h: int, w: int, rng: np.random.Generator) -> Img:
    y, _ = _grid(h, w)
    im, draw = _canvas(_mix((250, 200, 150), (120, 160, 220), 1 - y))
    colours = [(150, 120, 170), (110, 90, 150), (70, 60, 120), (40, 35, 80)]
    xs = np.linspace(0, w * _SS, 200)
    for i, colour in enumerate(colours):
        base = (0.45 + 0.13 * i) * h * _SS
        ridge = base - sum(
            rng.uniform(20, 60) * _SS * np.sin(xs / (w * _SS) * math.tau * f + rng.uniform(0, math.tau))
            for f in (1, 2.3, 5.1)
        )
        draw.polygon([(0, h * _SS), *zip(xs.tolist(), ridge.tolist(), strict=True), (w * _SS, h * _SS)], fill=colour)
    draw.ellipse([0.7 * w * _SS, 0.12 * h * _SS, 0.8 * w * _SS, 0.12 * h * _SS + 0.1 * w * _SS], fill=(255, 240, 200))
    return _finish(im)


def skyline(h: int, w: int, rng: np.random.Generator) -> Img:
    y, _ = _grid(h, w)
    im, draw = _canvas(_mix((10, 15, 50), (200, 90, 80), y**1.5))
    x = 0.0
    while x < w:
        bw, bh = rng.uniform(40, 110), rng.uniform(0.25, 0.7) * h
        top = h - bh
        shade = int(rng.integers(15, 45))
        draw.rectangle([x * _SS, top * _SS, (x + bw) * _SS, h * _SS], fill=(shade, shade, shade + 15))
        for wy in np.arange(top + 12, h - 10, 18):
            for wx in np.arange(x + 8, x + bw - 10, 14):
                if rng.random() < 0.45:
                    draw.rectangle([wx * _SS, wy * _SS, (wx + 6) * _SS, (wy + 9) * _SS], fill=(250, 210, 120))
        x += bw + rng.uniform(0, 8)
    return _finish(im)


def _ui(h: int, w: int, rng: np.random.Generator, dark: bool) -> Img:
    bg, panel, ink, accent = (
        ((32, 33, 36), (48, 49, 54), (225, 225, 230), (90, 160, 255))
        if dark
        else ((255, 255, 255), (243, 244, 246), (30, 32, 36), (26, 115, 232))
    )
    im, draw = _canvas(np.full((h, w, 3), bg, np.float32))
    s = _SS
    draw.rectangle([0, 0, w * s, 56 * s], fill=accent)
    draw.text((20 * s, 14 * s), "Dashboard", font=_font(26), fill=(255, 255, 255))
    draw.rectangle([0, 56 * s, 220 * s, h * s], fill=panel)
    for i, label in enumerate(["Overview", "Reports", "Settings", "Users", "Billing", "Help"]):
        draw.text((24 * s, (84 + 44 * i) * s), label, font=_font(18), fill=ink)
    for row in range(2):
        for col in range(3):
            x0, y0 = (250 + col * ((w - 270) // 3)) * s, (90 + row * 230) * s
            x1, y1 = x0 + ((w - 300) // 3) * s, y0 + 200 * s
            draw.rounded_rectangle([x0, y0, x1, y1], radius=12 * s, fill=panel, outline=(200, 200, 205), width=s)
            draw.text((x0 + 16 * s, y0 + 14 * s), f"Metric {row * 3 + col + 1}", font=_font(16), fill=ink)
            draw.text((x0 + 16 * s, y0 + 44 * s), f"{rng.integers(100, 9999):,}", font=_font(34), fill=accent)
            draw.rounded_rectangle([x0 + 16 * s, y1 - 50 * s, x0 + 116 * s, y1 - 16 * s], radius=8 * s, fill=accent)
            draw.text((x0 + 34 * s, y1 - 44 * s), "Open", font=_font(16), fill=(255, 255, 255))
    for i in range(8):
        ty = (560 + 26 * i) * s
        if ty < (h - 20) * s:
            draw.text(
                (250 * s, ty), "Lorem ipsum dolor sit amet, consectetur adipiscing elit " * 2, font=_font(15), fill=ink
            )
    return _finish(im)


def ui_light(h: int, w: int, rng: np.random.Generator) -> Img:
    return _ui(h, w, rng, dark=False)


def ui_dark(h: int, w: int, rng: np.random.Generator) -> Img:
    return _ui(h, w, rng, dark=True)


def cartoon(h: int, w: int, rng: np.random.Generator) -> Img:
    y, _ = _grid(h, w)
    im, draw = _canvas(_mix((120, 190, 250), (200, 235, 255), y))
    s, line = _SS, 5 * _SS
    draw.ellipse(
        [-0.2 * w * s, 0.6 * h * s, 1.2 * w * s, 1.6 * h * s], fill=(110, 190, 80), outline=(0, 0, 0), width=line
    )
    draw.ellipse(
        [0.08 * w * s, 0.08 * h * s, 0.2 * w * s, 0.08 * h * s + 0.12 * w * s],
        fill=(255, 215, 60),
        outline=(0, 0, 0),
        width=line,
    )
    hx, hy = 0.45 * w * s, 0.45 * h * s
    draw.rectangle([hx, hy, hx + 0.25 * w * s, hy + 0.25 * h * s], fill=(240, 200, 150), outline=(0, 0, 0), width=line)
    draw.polygon(
        [(hx - 20 * s, hy), (hx + 0.125 * w * s, hy - 0.18 * h * s), (hx + 0.25 * w * s + 20 * s, hy)],
        fill=(200, 60, 50),
        outline=(0, 0, 0),
        width=line,
    )
    draw.rectangle(
        [hx + 0.1 * w * s, hy + 0.12 * h * s, hx + 0.15 * w * s, hy + 0.25 * h * s],
        fill=(120, 70, 40),
        outline=(0, 0, 0),
        width=line,
    )
    for cx in (0.25, 0.85):
        draw.rectangle(
            [(cx - 0.015) * w * s, 0.5 * h * s, (cx + 0.015) * w * s, 0.72 * h * s],
            fill=(130, 80, 40),
            outline=(0, 0, 0),
            width=line,
        )
        draw.ellipse(
            [(cx - 0.08) * w * s, 0.3 * h * s, (cx + 0.08) * w * s, 0.55 * h * s],
            fill=(40, 150, 60),
            outline=(0, 0, 0),
            width=line,
        )
    for _ in range(3):
        cx, cy = rng.uniform(0.3, 0.9) * w * s, rng.uniform(0.08, 0.25) * h * s
        for dx in (-40, 0, 40):
            draw.ellipse([cx + (dx - 35) * s, cy - 25 * s, cx + (dx + 35) * s, cy + 25 * s], fill=(255, 255, 255))
    return _finish(im)


def lowpoly(h: int, w: int, rng: np.random.Generator) -> Img:
    from scipy.spatial import Delaunay

    pts = np.vstack(
        [rng.uniform(0, 1, (60, 2)), [[0, 0], [0, 1], [1, 0], [1, 1], [0.5, 0], [0.5, 1], [0, 0.5], [1, 0.5]]]
    )
    tri = Delaunay(pts)
    im, draw = _canvas(np.zeros((h, w, 3), np.float32))
    for simplex in tri.simplices:
        corners = pts[simplex]
        cy, cx = corners.mean(axis=0)
        colour = tuple(int(v) for v in _mix((30, 60, 110), (90, 200, 190), np.array([0.5 * cx + 0.5 * cy]))[0])
        shade = rng.uniform(-18, 18)
        fill = tuple(int(np.clip(c + shade, 0, 255)) for c in colour)
        draw.polygon([(float(p[1]) * w * _SS, float(p[0]) * h * _SS) for p in corners], fill=fill)
    return _finish(im)


def chart(h: int, w: int, rng: np.random.Generator) -> Img:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(w / 100, h / 100), dpi=100)
    x = np.arange(12)
    ax.bar(x - 0.2, rng.uniform(20, 80, 12), 0.4, label="2025", color="#4c72b0")
    ax.bar(x + 0.2, rng.uniform(20, 80, 12), 0.4, label="2026", color="#dd8452")
    ax.plot(x, 50 + 15 * np.sin(x / 2), color="#55a868", linewidth=3, label="trend")
    ax.set_xticks(x, ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"])
    ax.set_title("Monthly volume")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    fig.canvas.draw()
    arr = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()  # type: ignore[attr-defined]
    plt.close(fig)
    return np.asarray(Image.fromarray(arr).resize((w, h), Image.LANCZOS))


def flat_icons(h: int, w: int, rng: np.random.Generator) -> Img:
    im, draw = _canvas(np.full((h, w, 3), (250, 236, 214), np.float32))
    s = _SS
    palette = [(239, 83, 80), (66, 165, 245), (102, 187, 106), (255, 202, 40), (171, 71, 188), (38, 166, 154)]
    cols, rows = 4, 3
    for r in range(rows):
        for c in range(cols):
            cx, cy = (c + 0.5) * w / cols * s, (r + 0.5) * h / rows * s
            rad = min(w / cols, h / rows) * 0.32 * s
            colour = palette[(r * cols + c) % len(palette)]
            draw.rounded_rectangle([cx - rad, cy - rad, cx + rad, cy + rad], radius=rad * 0.35, fill=colour)
            shape = int(rng.integers(0, 3))
            if shape == 0:
                draw.ellipse([cx - rad / 2, cy - rad / 2, cx + rad / 2, cy + rad / 2], fill=(255, 255, 255))
            elif shape == 1:
                draw.polygon(
                    [(cx - rad / 2, cy + rad / 2), (cx, cy - rad / 2), (cx + rad / 2, cy + rad / 2)],
                    fill=(255, 255, 255),
                )
            else:
                draw.rectangle([cx - rad / 2, cy - rad / 8, cx + rad / 2, cy + rad / 8], fill=(255, 255, 255))
    return _finish(im)


def radial(h: int, w: int, rng: np.random.Generator) -> Img:
    y, x = _grid(h, w)
    r = np.hypot((y - 0.4) * h, (x - 0.6) * w) / math.hypot(h, w)
    img = _mix((255, 245, 220), (40, 20, 90), np.clip(r * 1.6, 0, 1))
    im, draw = _canvas(img)
    c, rad = (0.3 * w * _SS, 0.65 * h * _SS), 0.12 * min(h, w) * _SS
    draw.ellipse([c[0] - rad, c[1] - rad, c[0] + rad, c[1] + rad], fill=(250, 120, 60))
    return _finish(im)


def waves(h: int, w: int, rng: np.random.Generator) -> Img:
    im, draw = _canvas(np.full((h, w, 3), (255, 244, 230), np.float32))
    xs = np.linspace(0, w * _SS, 240)
    colours = [(255, 183, 77), (255, 138, 101), (240, 98, 146), (149, 117, 205), (79, 195, 247)]
    for i, colour in enumerate(colours):
        base = (0.3 + 0.15 * i) * h * _SS
        amp, phase = rng.uniform(20, 50) * _SS, rng.uniform(0, math.tau)
        ridge = base + amp * np.sin(xs / (w * _SS) * math.tau * 1.3 + phase)
        draw.polygon([(0, h * _SS), *zip(xs.tolist(), ridge.tolist(), strict=True), (w * _SS, h * _SS)], fill=colour)
    return _finish(im)


def poster(h: int, w: int, rng: np.random.Generator) -> Img:
    im, draw = _canvas(np.full((h, w, 3), (24, 95, 80), np.float32))
    s = _SS
    draw.ellipse([0.55 * w * s, -0.2 * h * s, 1.2 * w * s, 0.6 * h * s], fill=(240, 190, 70))
    draw.text((0.07 * w * s, 0.45 * h * s), "SUMMER", font=_font(int(0.16 * w)), fill=(250, 245, 230))
    draw.text((0.07 * w * s, 0.68 * h * s), "FESTIVAL 2026", font=_font(int(0.07 * w)), fill=(240, 190, 70))
    draw.rectangle([0.07 * w * s, 0.88 * h * s, 0.6 * w * s, 0.9 * h * s], fill=(250, 245, 230))
    return _finish(im)


# name -> (renderer, (height, width))
FLAT_ARTWORK: dict[str, tuple[Callable[[int, int, np.random.Generator], Img], tuple[int, int]]] = {
    "gradient-blobs": (gradient_blobs, (1024, 1024)),
    "mountains": (mountains, (720, 1280)),
    "skyline": (skyline, (768, 1024)),
    "ui-light": (ui_light, (800, 1280)),
    "ui-dark": (ui_dark, (800, 1280)),
    "cartoon": (cartoon, (768, 1024)),
    "lowpoly": (lowpoly, (1024, 768)),
    "chart": (chart, (768, 1024)),
    "flat-icons": (flat_icons, (768, 1024)),
    "radial": (radial, (1024, 1024)),
    "waves": (waves, (1024, 768)),
    "poster": (poster, (1024, 768)),
}


def flat_artwork(limit: int | None = None) -> list[tuple[str, Img]]:
    """The rendered set as ``(name, (h, w, 3) uint8 RGB)`` pairs, the same on every call."""
    out = []
    for i, (name, (render, (h, w))) in enumerate(list(FLAT_ARTWORK.items())[:limit]):
        out.append((f"{name}@{w}x{h}", render(h, w, np.random.default_rng(1000 + i))))
    return out


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "flat-artwork")
    target.mkdir(parents=True, exist_ok=True)
    for name, img in flat_artwork():
        Image.fromarray(img).save(target / f"{name}.png")
    print(f"wrote {len(FLAT_ARTWORK)} images to {target}/")
