"""ONNX Runtime encoders: photos and text to unit vectors in one shared space.

Only numpy, onnxruntime, tokenizers and Pillow are imported here: torch builds the models
(`models/`), it never runs them. Sessions are created on first use, so loading a model is
cheap and a process that only searches never loads the image graph.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image
from tokenizers import Tokenizer

from mmsearch.encoders.session import LazySession
from mmsearch.encoders.spec import ModelError, ModelSpec

_RESAMPLE = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}

# With a reducing gap, Pillow first shrinks by an integer factor with a box filter (cheap) and
# then resamples the last <= 3x: the same look as a full bicubic pass for a fraction of the time.
_REDUCING_GAP = 3.0

# Texts per session run: bounds the (N, L, 384) activations when a caller hands us thousands.
_TEXT_BATCH = 64

Float32Array = npt.NDArray[np.float32]


def graph_session(
    model_dir: Path,
    graphs: Path | None,
    name: str,
    threads: int | None,
    providers: Sequence[str] | None,
) -> LazySession:
    """The session of the graph `name`: from `graphs` (a folder of its fp16 twins, see
    `mmsearch.encoders.half`) when given, else from the model folder."""
    if graphs is None:
        return LazySession(Path(model_dir) / name, threads, providers)
    return LazySession(Path(graphs) / name, threads, providers, basic_optimizations=True)


def run_graph(
    session: LazySession,
    outputs: Sequence[str],
    feed: dict[str, npt.NDArray[Any]],
    spec: ModelSpec,
) -> list[npt.NDArray[Any]]:
    """`session.run`, with a graph that fails on its input turned into ModelError."""
    try:
        return list(session.get().run(list(outputs), feed))
    except ModelError:
        raise
    except Exception as e:  # ORT raises its own Fail/InvalidArgument/... types
        raise ModelError(
            f"{session.path} of model {spec.id!r} can't run: {e}. Rebuild the model "
            "(`make install`) or reinstall mmsearch."
        ) from e


def checked_vectors(
    out: npt.NDArray[Any], rows: int, session: LazySession, spec: ModelSpec
) -> Float32Array:
    """The graph's vectors as float32, after checking they are (rows, dim)."""
    out = np.asarray(out)
    if out.ndim != 2 or out.shape != (rows, spec.dim):
        raise ModelError(
            f"{session.path} of model {spec.id!r} gives {spec.output!r} of shape {out.shape} "
            f"for {rows} inputs, where its spec.json promises ({rows}, {spec.dim}): the file "
            "is not this model's; rebuild it (`make install`) or reinstall mmsearch."
        )
    return np.asarray(out, dtype=np.float32)


class ImageEncoder:
    """Photos to unit vectors: preprocessing owned by the spec, then the image graph."""

    def __init__(
        self,
        spec: ModelSpec,
        model_dir: Path,
        threads: int | None = None,
        providers: Sequence[str] | None = None,
        graphs: Path | None = None,
    ) -> None:
        self.spec = spec
        self._session = graph_session(model_dir, graphs, spec.image_file, threads, providers)
        self._checked = False
        self._resample = _RESAMPLE[spec.interpolation]
        # (x / 255 - mean) / std  ==  x * scale - offset, one fused pass over the pixels
        std = np.asarray(spec.std, dtype=np.float32)
        self._scale = (1.0 / (255.0 * std)).astype(np.float32)
        self._offset = (np.asarray(spec.mean, dtype=np.float32) / std).astype(np.float32)

    def preprocess(self, image: Image.Image) -> Float32Array:
        """An RGB photo of any size -> (3, S, S) float32 pixels ready for `encode`.

        Rule "shorter_side_center_crop": the centred square of side min(width, height) is
        resampled to S x S. Rule "squash": the whole photo is resampled to S x S, aspect ratio
        not kept (what models trained on squashed photos expect). Hand in an image already
        decoded at reduced size (shorter side a little above S): larger ones work, only slower.
        """
        if image.mode != "RGB":
            image = image.convert("RGB")
        size = self.spec.image_size
        width, height = image.size
        if self.spec.resize == "squash":
            box = (0.0, 0.0, float(width), float(height))
            shrinking = min(width, height) > size
        else:
            side = min(width, height)
            left, top = (width - side) / 2, (height - side) / 2
            box = (left, top, left + side, top + side)
            shrinking = side > size
        # Resample straight from the crop box: one pass that reads only the square (and the
        # filter's few pixels beyond its edge, as resize-then-crop would), never the whole photo.
        square = image.resize(
            (size, size),
            self._resample,
            box=box,
            reducing_gap=_REDUCING_GAP if shrinking else None,
        )
        pixels = np.asarray(square, dtype=np.float32)
        pixels = pixels * self._scale - self._offset
        return np.ascontiguousarray(pixels.transpose(2, 0, 1))

    def encode(self, pixels: npt.ArrayLike) -> Float32Array:
        """(N, 3, S, S) preprocessed pixels -> (N, dim) float32 unit rows."""
        batch = np.asarray(pixels, dtype=np.float32)
        size = self.spec.image_size
        if batch.ndim != 4 or batch.shape[1:] != (3, size, size):
            raise ValueError(f"expected pixels of shape (N, 3, {size}, {size}), not {batch.shape}")
        if len(batch) == 0:
            return np.zeros((0, self.spec.dim), dtype=np.float32)
        self._ready()
        (out,) = run_graph(
            self._session, [self.spec.output], {self.spec.image_input: batch}, self.spec
        )
        return checked_vectors(out, len(batch), self._session, self.spec)

    def encode_with_regions(
        self, pixels: npt.ArrayLike
    ) -> tuple[Float32Array, npt.NDArray[np.float16] | None]:
        """(N, 3, S, S) pixels -> ((N, dim) unit rows, (N, R, D) float16 fusion regions);
        the regions are None when the model has no fusion head."""
        fusion = self.spec.fusion
        if fusion is None:
            return self.encode(pixels), None
        batch = np.asarray(pixels, dtype=np.float32)
        if len(batch) == 0:
            empty = np.zeros((0, fusion.regions, fusion.region_dim), dtype=np.float16)
            return np.zeros((0, self.spec.dim), dtype=np.float32), empty
        self.encode(batch[:0])  # shape check
        self._ready()
        vectors, regions = run_graph(
            self._session,
            [self.spec.output, fusion.regions_output],
            {self.spec.image_input: batch},
            self.spec,
        )
        regions = np.asarray(regions)
        if regions.shape != (len(batch), fusion.regions, fusion.region_dim):
            raise ModelError(
                f"{self._session.path} of model {self.spec.id!r} gives regions of shape "
                f"{regions.shape}, where its spec.json promises ({len(batch)}, "
                f"{fusion.regions}, {fusion.region_dim}): rebuild it (`make install`)."
            )
        vectors = checked_vectors(vectors, len(batch), self._session, self.spec)
        return vectors, np.asarray(regions, dtype=np.float16)

    def encode_images(self, images: Sequence[Image.Image]) -> Float32Array:
        """Photos -> (N, dim) float32 unit rows (`preprocess` then `encode`)."""
        if not images:
            return np.zeros((0, self.spec.dim), dtype=np.float32)
        return self.encode(np.stack([self.preprocess(im) for im in images]))

    def _ready(self) -> Any:
        session = self._session.get()
        if not self._checked:
            self._session.check_io([self.spec.image_input], self.spec.output)
            if self.spec.fusion is not None:
                self._session.check_io([self.spec.image_input], self.spec.fusion.regions_output)
            self._checked = True
        return session


class TextEncoder:
    """Texts to unit vectors: the spec's tokenizer, then the text graph."""

    def __init__(
        self,
        spec: ModelSpec,
        model_dir: Path,
        threads: int | None = None,
        providers: Sequence[str] | None = None,
        graphs: Path | None = None,
    ) -> None:
        self.spec = spec
        self._model_dir = Path(model_dir)
        self._session = graph_session(model_dir, graphs, spec.text_file, threads, providers)
        self._checked = False
        self._tokenizer: Tokenizer | None = None
        self._lock = threading.Lock()

    @property
    def tokenizer(self) -> Tokenizer:
        """The spec's tokenizer, truncating to the context length and padding to the longest
        text of a batch."""
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    self._tokenizer = self._load_tokenizer()
        return self._tokenizer

    def _load_tokenizer(self) -> Tokenizer:
        path = self._model_dir / self.spec.tokenizer_file
        try:
            tokenizer = Tokenizer.from_file(str(path))
        except Exception as e:  # tokenizers raises a bare Exception for bad files
            raise ModelError(f"can't load the tokenizer {path}: {e}. Rebuild the model.") from e
        # Set from the spec, whatever the file says: the graph was checked with these.
        tokenizer.enable_truncation(max_length=self.spec.context_length)
        tokenizer.enable_padding(pad_id=self.spec.pad_token_id, pad_token=self.spec.pad_token)
        return tokenizer

    def tokenize(self, texts: Sequence[str]) -> dict[str, npt.NDArray[np.int64]]:
        """The text graph's inputs for `texts`: int64 (N, L) arrays, L the longest text."""
        encodings = self.tokenizer.encode_batch(list(texts))
        arrays = {
            "input_ids": np.asarray([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.asarray([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.asarray([e.type_ids for e in encodings], dtype=np.int64),
        }
        return {name: arrays[name] for name in self.spec.text_inputs}

    def encode(self, texts: Sequence[str]) -> Float32Array:
        """Texts -> (N, dim) float32 unit rows, run in batches each padded to its longest."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts, not one string")
        if not texts:
            return np.zeros((0, self.spec.dim), dtype=np.float32)
        self._ready()
        out = []
        for i in range(0, len(texts), _TEXT_BATCH):
            part = texts[i : i + _TEXT_BATCH]
            (vectors,) = run_graph(
                self._session, [self.spec.output], self.tokenize(part), self.spec
            )
            out.append(checked_vectors(vectors, len(part), self._session, self.spec))
        return np.concatenate(out)

    def encode_with_tokens(
        self, texts: Sequence[str]
    ) -> tuple[Float32Array, Float32Array, npt.NDArray[np.int64]]:
        """Texts -> ((N, dim) unit rows, (N, L, D) fusion tokens, (N, L) attention mask), all
        padded to the longest text. Only for models with a fusion head."""
        fusion = self.spec.fusion
        if fusion is None:
            raise ModelError(f"model {self.spec.id!r} has no fusion head")
        if isinstance(texts, str):
            raise TypeError("encode_with_tokens() takes a sequence of texts, not one string")
        self._ready()
        inputs = self.tokenize(texts)
        vectors, tokens = run_graph(
            self._session, [self.spec.output, fusion.tokens_output], inputs, self.spec
        )
        return (
            checked_vectors(vectors, len(texts), self._session, self.spec),
            np.asarray(tokens, dtype=np.float32),
            inputs["attention_mask"],
        )

    def _ready(self) -> Any:
        session = self._session.get()
        if not self._checked:
            self._session.check_io(self.spec.text_inputs, self.spec.output)
            if self.spec.fusion is not None:
                self._session.check_io(self.spec.text_inputs, self.spec.fusion.tokens_output)
            self._checked = True
        return session


# Pairs per fusion run: bounds the (N, 1 + R + L, D) activations.
_FUSION_BATCH = 256


class FusionHead:
    """The fusion graph: match logits of (photo regions, text tokens) pairs."""

    def __init__(
        self,
        spec: ModelSpec,
        model_dir: Path,
        threads: int | None = None,
        providers: Sequence[str] | None = None,
        graphs: Path | None = None,
    ) -> None:
        if spec.fusion is None:
            raise ModelError(f"model {spec.id!r} has no fusion head")
        self.spec = spec
        self.fusion = spec.fusion
        self._session = graph_session(model_dir, graphs, spec.fusion.file, threads, providers)
        self._checked = False

    def score(
        self, regions: npt.ArrayLike, tokens: npt.ArrayLike, mask: npt.ArrayLike
    ) -> Float32Array:
        """Logits (N,) of pairs: regions (N, R, D), tokens (N, L, D), mask (N, L)."""
        r = np.asarray(regions, dtype=np.float32)
        t = np.asarray(tokens, dtype=np.float32)
        m = np.asarray(mask, dtype=np.int64)
        if len(r) == 0:
            return np.zeros(0, dtype=np.float32)
        session = self._session.get()
        if not self._checked:
            inputs = ["regions", "tokens", "attention_mask"]
            self._session.check_io(inputs, self.fusion.score_output)
            self._checked = True
        out = [
            session.run(
                [self.fusion.score_output],
                {
                    "regions": r[i : i + _FUSION_BATCH],
                    "tokens": t[i : i + _FUSION_BATCH],
                    "attention_mask": m[i : i + _FUSION_BATCH],
                },
            )[0]
            for i in range(0, len(r), _FUSION_BATCH)
        ]
        return np.asarray(np.concatenate(out), dtype=np.float32)

    def text_against_photos(
        self, tokens: npt.ArrayLike, mask: npt.ArrayLike, regions: npt.ArrayLike
    ) -> Float32Array:
        """Logits (N,) of one text (tokens (L, D), mask (L,)) with N photos' regions."""
        r = np.asarray(regions)
        t, m = np.asarray(tokens), np.asarray(mask)
        count = len(r)
        return self.score(
            r, np.broadcast_to(t, (count, *t.shape)), np.broadcast_to(m, (count, *m.shape))
        )

    def photo_against_texts(
        self, regions: npt.ArrayLike, tokens: npt.ArrayLike, mask: npt.ArrayLike
    ) -> Float32Array:
        """Logits (N,) of one photo (regions (R, D)) with N texts' tokens (N, L, D)."""
        r, t = np.asarray(regions), np.asarray(tokens)
        return self.score(np.broadcast_to(r, (len(t), *r.shape)), t, mask)

    def combine(self, cosine: npt.ArrayLike, logits: npt.ArrayLike) -> Float32Array:
        """The ranking score of pairs: cosine + weight x logit."""
        c = np.asarray(cosine, dtype=np.float32)
        return np.asarray(c + np.float32(self.fusion.weight) * np.asarray(logits), np.float32)


@dataclass
class Model:
    """A loaded model: its spec, its two encoders and its fusion head (if it has one)."""

    spec: ModelSpec
    image: ImageEncoder
    text: TextEncoder
    fusion: FusionHead | None = None


def load_model(
    model_dir: Path,
    threads: int | None = None,
    *,
    verify: bool = False,
    providers: Sequence[str] | None = None,
    graphs: Path | None = None,
) -> Model:
    """Load the model in `model_dir` (its spec.json and files); sessions start on first use.

    `threads` caps ONNX Runtime's intra-op threads (None: one per core). `verify=True` also
    checks every file's SHA-256 (reads them all; do it after an install or a download).
    `providers` are ONNX Runtime execution providers, CPU by default. `graphs` is a folder
    of fp16 twins of the graphs to run instead (`mmsearch.encoders.half.fp16_twins`).
    Raises ModelError with a message naming the file at fault.
    """
    model_dir = Path(model_dir)
    spec = ModelSpec.load(model_dir)
    if verify:
        spec.verify_files(model_dir)
    return Model(
        spec=spec,
        image=ImageEncoder(spec, model_dir, threads, providers, graphs),
        text=TextEncoder(spec, model_dir, threads, providers, graphs),
        fusion=FusionHead(spec, model_dir, threads, providers, graphs) if spec.fusion else None,
    )
