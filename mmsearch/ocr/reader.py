"""Reading the text in a photo: PP-OCRv4's detector and recogniser on ONNX Runtime.

The two graphs (Apache-2.0, from the `rapidocr-onnxruntime` package, copied into
`build/ocr/` by `make install`: see `models/bundled/ocr.py`) run through our own
`Session`; the pre- and post-processing is ours, in numpy and Pillow (the package's own
needs OpenCV, Shapely and pyclipper, ~100 MB the app would have to ship).

1. **Detect** on the photo shrunk so its longer side is `DETECT_SIDE`: a probability map
   of where text is, after a first look at `SCREEN_SIDE` found some. Most photos hold
   none, and for them that first look is all the work.
2. **Recognise** each text line found, cut from the photo at `READ_SIDE` and made upright
   48 px high: characters by CTC (6,623 Chinese and Latin characters, digits, punctuation).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from mmsearch.datafiles import read_manifest
from mmsearch.encoders.session import Session
from mmsearch.encoders.spec import ModelError
from mmsearch.ocr.geometry import Box, boxes_from_map, crop
from mmsearch.paths import repo_root

OCR_DIR_NAME = "pp-ocrv4"
"""The OCR model's folder under `build/ocr/`."""
MANIFEST = "ocr.json"
MODEL_NAME = "pp-ocrv4-mobile-ch"
PIPELINE = 3
"""Our pre- and post-processing's version: with the model's name, what the catalog records
per photo read (`TextReader.version`); a change reads every photo again."""
DETECT_SIDE = 960
"""Longer side of the picture the detector looks at (a multiple of 32)."""
SCREEN_SIDE = 480
"""Longer side of the first, cheap look (a quarter of the pixels) that lets photos without
text skip the full-size detector: on 100 photos of Flickr8k ~80 % skip it; word recall
loses 0.6 points (docs/photos.md)."""
READ_SIDE = 1600
"""Longer side of the photo lines are cut from (at most; smaller photos as they are)."""
LINE_HEIGHT = 48
MIN_SCORE = 0.6
"""Mean character confidence under which a recognised line is dropped."""
MIN_SCORE_ONE_CHARACTER = 0.9
"""A line of one character must be surer: texture (fur, leaves, a rocket's tiles) reads
as a lone "D" or "茶" at 0.5-0.8, where real words score 0.9 and more."""
_BATCH = 8


@dataclass(frozen=True)
class TextLine:
    text: str
    score: float
    box: tuple[tuple[float, float], ...]
    """Its four corners in the photo, as fractions of its width and height."""


def default_folder() -> Path:
    """Where `make install` (and the packaged app) keep the OCR model."""
    env = os.environ.get("MMSEARCH_OCR")
    return Path(env) if env else repo_root() / "build" / "ocr" / OCR_DIR_NAME


def _to_bgr_tensor(image: Image.Image) -> np.ndarray:
    """(3, H, W) float32 in [-1, 1], blue first: how PP-OCR's models were trained."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
    return (rgb[:, :, ::-1].transpose(2, 0, 1) / 127.5 - 1.0).astype(np.float32)


class TextReader:
    """The OCR model of one folder (`default_folder()` unless told), loaded on first use."""

    def __init__(self, folder: Path | None = None, threads: int | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_folder()
        fix = "run `make install` (it copies the OCR model into build/ocr/)"
        info = read_manifest(self.folder, MANIFEST, "the OCR model", fix)
        if "model" not in info:
            raise ModelError(f"the OCR model's manifest {self.folder / MANIFEST} is not one: {fix}")
        self.version = f"{info['model']}/{PIPELINE}"
        files = info["files"]
        self._detector = Session(self.folder / files["detect"], threads, None, fix=fix)
        self._recogniser = Session(self.folder / files["recognise"], threads, None, fix=fix)
        self._chars: list[str] | None = None

    def characters(self) -> list[str]:
        """The recogniser's alphabet: index 0 is CTC's blank, the last a space."""
        if self._chars is None:
            meta = self._recogniser.get().get_modelmeta().custom_metadata_map
            self._chars = ["", *meta["character"].splitlines(), " "]
        return self._chars

    def may_hold_text(self, image: Image.Image) -> bool:
        """A first look at `SCREEN_SIDE`: False when the photo surely holds no text (most
        photos: then the detector at full size is never run)."""
        return bool(self.detect(image, SCREEN_SIDE, box_threshold=0.5))

    def detect(
        self, image: Image.Image, side: int = DETECT_SIDE, box_threshold: float = 0.6
    ) -> list[Box]:
        """Text lines in `image`, in its pixels, found with its longer side at `side`."""
        w, h = image.size
        scale = side / max(w, h)
        dw = max(32, round(w * scale / 32) * 32)
        dh = max(32, round(h * scale / 32) * 32)
        small = image.convert("RGB").resize((dw, dh), Image.Resampling.BILINEAR)
        tensor = _to_bgr_tensor(small)[None]
        (prob,) = self._detector.run(["sigmoid_0.tmp_0"], {"x": tensor}, 1)
        boxes = boxes_from_map(prob[0, 0], box_threshold=box_threshold)
        return [b.scaled(w / dw, h / dh) for b in boxes]

    def recognise(self, crops: Sequence[Image.Image]) -> list[tuple[str, float]]:
        """(text, confidence) of each line image (LINE_HEIGHT high)."""
        chars = self.characters()
        out: list[tuple[str, float]] = [("", 0.0)] * len(crops)
        order = sorted(range(len(crops)), key=lambda i: crops[i].width / crops[i].height)
        for start in range(0, len(order), _BATCH):
            batch = order[start : start + _BATCH]
            width = max(320, max(crops[i].width for i in batch))
            tensor = np.zeros((len(batch), 3, LINE_HEIGHT, width), dtype=np.float32)
            for row, i in enumerate(batch):
                line = _to_bgr_tensor(crops[i])
                tensor[row, :, :, : line.shape[2]] = line
            (probs,) = self._recogniser.run(["softmax_11.tmp_0"], {"x": tensor}, len(batch))
            best, confidence = probs.argmax(axis=2), probs.max(axis=2)
            for row, i in enumerate(batch):
                ids = best[row]
                keep = ids != 0
                keep[1:] &= ids[1:] != ids[:-1]  # CTC: a repeat is one character
                text = "".join(chars[c] for c in ids[keep]).strip()
                score = float(confidence[row][keep].mean()) if keep.any() else 0.0
                out[i] = (text, score)
        return out

    def read(self, image: Image.Image, boxes: Sequence[Box] | None = None) -> list[TextLine]:
        """The text lines of a photo (upright), top to bottom, left to right; `boxes` (in
        its pixels) when they were detected on a smaller copy already."""
        image = image.convert("RGB")
        w, h = image.size
        if boxes is None:
            boxes = self.detect(image)
        if not boxes:
            return []
        source, factor = image, 1.0
        if max(w, h) > READ_SIDE:
            factor = READ_SIDE / max(w, h)
            source = image.resize((round(w * factor), round(h * factor)), Image.Resampling.BILINEAR)
        crops = [crop(source, box.scaled(factor, factor), LINE_HEIGHT) for box in boxes]
        lines = []
        for box, (text, score) in zip(boxes, self.recognise(crops), strict=True):
            if text and score >= (MIN_SCORE_ONE_CHARACTER if len(text) == 1 else MIN_SCORE):
                corners = tuple((float(x) / w, float(y) / h) for x, y in box.corners)
                lines.append(TextLine(text, score, corners))
        lines.sort(key=lambda line: (round(line.box[0][1] * 20), line.box[0][0]))
        return lines
