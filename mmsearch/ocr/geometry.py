"""Text regions from a detector's probability map, without OpenCV: connected components,
their rotated bounding rectangles, and the crop of a rectangle made upright.

The detector (PP-OCR's DB head) paints each text line as a blob of probability; the blob
is a shrunk copy of the line, so its rectangle is grown back ("unclipped") by
area x ratio / perimeter, the rule the detector was trained with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Box:
    """A rotated rectangle: four corners (x, y), clockwise from the top left of the text."""

    corners: np.ndarray  # (4, 2) float
    score: float

    @property
    def width(self) -> float:
        return float(np.linalg.norm(self.corners[1] - self.corners[0]))

    @property
    def height(self) -> float:
        return float(np.linalg.norm(self.corners[3] - self.corners[0]))

    def scaled(self, sx: float, sy: float) -> Box:
        return Box(self.corners * np.array([sx, sy]), self.score)


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, first column, last column + 1) of every horizontal run of True in `mask`."""
    h, w = mask.shape
    padded = np.zeros((h, w + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    steps = np.diff(padded, axis=1)
    rows, starts = np.nonzero(steps == 1)
    _, ends = np.nonzero(steps == -1)
    return rows, starts, ends  # np.nonzero is row-major: starts and ends pair up


def components(mask: np.ndarray) -> list[np.ndarray]:
    """The 8-connected blobs of a boolean map, each as its (row, start, end) runs (K, 3)."""
    rows, starts, ends = _runs(mask)
    n = len(rows)
    if n == 0:
        return []
    parent = np.arange(n)
    # Runs of consecutive rows touch (8-connected) when their column spans overlap by one.
    row_first = np.searchsorted(rows, np.arange(mask.shape[0] + 1))
    edges_a: list[np.ndarray] = []
    edges_b: list[np.ndarray] = []
    for r in np.unique(rows)[:-1] if n else []:
        a0, a1 = row_first[r], row_first[r + 1]
        b0, b1 = row_first[r + 1], row_first[r + 2]
        if b0 == b1:
            continue
        sa, ea = starts[a0:a1], ends[a0:a1]
        sb, eb = starts[b0:b1], ends[b0:b1]
        touch = (sa[:, None] <= eb[None, :]) & (sb[None, :] <= ea[:, None])
        ia, ib = np.nonzero(touch)
        edges_a.append(ia + a0)
        edges_b.append(ib + b0)
    if edges_a:
        ea_all, eb_all = np.concatenate(edges_a), np.concatenate(edges_b)
        # Label propagation over the run graph: every run takes its neighbours' smallest
        # label until nothing changes (a few dozen rounds for a text line's rows).
        while True:
            low = np.minimum(parent[ea_all], parent[eb_all])
            before = parent.copy()
            np.minimum.at(parent, ea_all, low)
            np.minimum.at(parent, eb_all, low)
            parent = parent[parent]
            if np.array_equal(parent, before):
                break
    order = np.argsort(parent, kind="stable")
    labels = parent[order]
    cuts = np.nonzero(np.diff(labels))[0] + 1
    table = np.stack([rows, starts, ends], axis=1)[order]
    return np.split(table, cuts)


def _hull(points: np.ndarray) -> np.ndarray:
    """Convex hull (monotone chain) of integer points (N, 2), counter-clockwise."""
    pts = np.unique(points, axis=0)
    if len(pts) < 3:
        return pts.astype(float)

    def half(seq: np.ndarray) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        for p in seq:
            while len(out) >= 2:
                (ox, oy), (ax, ay) = out[-2], out[-1]
                if (ax - ox) * (p[1] - oy) - (ay - oy) * (p[0] - ox) > 0:
                    break
                out.pop()
            out.append(p)
        return out

    lower, upper = half(pts), half(pts[::-1])
    return np.array(lower[:-1] + upper[:-1], dtype=float)


def min_area_rect(points: np.ndarray) -> tuple[np.ndarray, float, float, float]:
    """The smallest rotated rectangle around points (N, 2) of (x, y): centre, width (along
    the angle), height, and angle in radians (of the width side, in [-pi/4, pi/4) for a
    wide rectangle)."""
    hull = _hull(points)
    if len(hull) < 3:
        lo, hi = points.min(axis=0).astype(float), points.max(axis=0).astype(float)
        return (lo + hi) / 2, float(hi[0] - lo[0]), float(hi[1] - lo[1]), 0.0
    edges = np.roll(hull, -1, axis=0) - hull
    angles = np.unique(np.mod(np.arctan2(edges[:, 1], edges[:, 0]), np.pi / 2))
    cos, sin = np.cos(angles), np.sin(angles)
    # Coordinates of the hull in each candidate frame: u along the angle, v across it.
    u = hull[:, 0][None] * cos[:, None] + hull[:, 1][None] * sin[:, None]
    v = -hull[:, 0][None] * sin[:, None] + hull[:, 1][None] * cos[:, None]
    spans_u, spans_v = u.max(axis=1) - u.min(axis=1), v.max(axis=1) - v.min(axis=1)
    best = int(np.argmin(spans_u * spans_v))
    angle, width, height = float(angles[best]), float(spans_u[best]), float(spans_v[best])
    cu = (u[best].max() + u[best].min()) / 2
    cv = (v[best].max() + v[best].min()) / 2
    c, s = np.cos(angle), np.sin(angle)
    centre = np.array([cu * c - cv * s, cu * s + cv * c])
    if angle >= np.pi / 4:  # report the frame whose width side is nearest horizontal
        angle -= np.pi / 2
        width, height = height, width
    return centre, width, height, angle


def rect_corners(centre: np.ndarray, width: float, height: float, angle: float) -> np.ndarray:
    """Corners of a rotated rectangle: top left, top right, bottom right, bottom left."""
    c, s = np.cos(angle), np.sin(angle)
    along, across = np.array([c, s]) * width / 2, np.array([-s, c]) * height / 2
    return np.array(
        [
            centre - along - across,
            centre + along - across,
            centre + along + across,
            centre - along + across,
        ]
    )


def boxes_from_map(
    prob: np.ndarray,
    threshold: float = 0.3,
    box_threshold: float = 0.6,
    unclip_ratio: float = 1.6,
    min_side: float = 3.0,
    max_boxes: int = 200,
    end_pad: float = 0.15,
) -> list[Box]:
    """Text boxes (in the map's pixels) from a DB probability map (H, W). Each box is grown
    along the line by `end_pad` x its height at both ends: the map fades before a line's
    first and last letters, and a cut letter is a misread word ("Islan", "TICKE"; +0.6 to
    +1.2 points of word recall on two draws of benchmarks/ocr.py's set)."""
    mask = prob > threshold
    # A 2 x 2 dilation joins the strokes of a line the detector drew thinly.
    grown = mask.copy()
    grown[1:, :] |= mask[:-1, :]
    grown[:, 1:] |= mask[:, :-1]
    grown[1:, 1:] |= mask[:-1, :-1]
    boxes: list[Box] = []
    for runs in components(grown):
        if len(boxes) >= max_boxes:
            break
        rows, starts, ends = runs[:, 0], runs[:, 1], runs[:, 2]
        if (ends - starts).sum() < 4:
            continue
        # The hull only needs each run's two ends (pixel corners included).
        xs = np.concatenate([starts, ends, starts, ends]).astype(float)
        ys = np.concatenate([rows, rows, rows + 1, rows + 1]).astype(float)
        centre, width, height, angle = min_area_rect(np.stack([xs, ys], axis=1))
        if min(width, height) < min_side:
            continue
        values = np.concatenate([prob[r, s:e] for r, s, e in runs])
        score = float(values.mean())
        if score < box_threshold:
            continue
        grow = width * height * unclip_ratio / (2 * (width + height))
        tall = height + 2 * grow
        corners = rect_corners(centre, width + 2 * grow + 2 * end_pad * tall, tall, angle)
        boxes.append(Box(corners, score))
    return boxes


def crop(image: Image.Image, box: Box, height: int) -> Image.Image:
    """The box's pixels made upright and `height` high (a tall box, vertical text, is
    turned a quarter to read left to right)."""
    w, h = max(box.width, 1.0), max(box.height, 1.0)
    quad = box.corners  # top left, top right, bottom right, bottom left
    # PIL's QUAD takes the source corners as upper left, lower left, lower right, upper right.
    data = tuple(float(v) for v in quad[[0, 3, 2, 1]].flatten())
    size = (max(1, round(w)), max(1, round(h)))
    upright = image.transform(size, Image.Transform.QUAD, data, Image.Resampling.BILINEAR)
    if h >= 1.5 * w:
        upright = upright.transpose(Image.Transpose.ROTATE_90)
    scale = height / upright.height
    out_w = max(1, round(upright.width * scale))
    return upright.resize((out_w, height), Image.Resampling.BILINEAR)
