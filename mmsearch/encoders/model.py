"""One model at run time: an image encoder, a text encoder and an optional fusion head.

`load_model(model_dir)` opens any model folder (whatever its family or layout: see
`mmsearch.encoders.formats`) as a `Model`. Only numpy, onnxruntime, tokenizers, ftfy and
Pillow are used: torch builds and exports models (`models/`), it never runs them. Sessions
start on first use. Every output is checked to be (rows, dim) and returned unit-normalised:
graphs from other exporters may or may not normalise, so we always do.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from mmsearch.encoders.formats import fix_for, load_spec
from mmsearch.encoders.half import fp16_twins
from mmsearch.encoders.integrity import verify_model_files
from mmsearch.encoders.preprocess import Preprocessor
from mmsearch.encoders.session import Session
from mmsearch.encoders.spec import PRECISIONS, ModelError, ModelSpec
from mmsearch.encoders.tokenize import HFTokenizer, LazyTokenizer, TextTokenizer, Tokens

log = logging.getLogger(__name__)

Float32Array = npt.NDArray[np.float32]

_IMAGE_BATCH = 32
_TEXT_BATCH = 64
_FUSION_BATCH = 256
"""Rows per session run: bounds the activations when a caller hands us thousands."""


def normalize_rows(vectors: npt.ArrayLike) -> Float32Array:
    """Rows scaled to unit length (float32); an all-zero row stays zero."""
    v = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return np.asarray(v / np.maximum(norms, np.float32(1e-12)), dtype=np.float32)


_TEXT_INPUTS = ("input_ids", "text", "attention_mask", "token_type_ids")


def _other_tower(session: Session, own: Sequence[str], image_size: int) -> dict[str, Any]:
    """For a graph holding both towers: one-row dummy inputs of the tower not asked for (a
    blank picture, a short text of the graph's length). Its outputs are not read; they only
    let the graph run."""
    dummies: dict[str, npt.NDArray[Any]] = {}
    for name, shape in session.input_shapes().items():
        if name in own:
            continue
        text = name in _TEXT_INPUTS
        wanted = (1, 2) if text else (1, 3, image_size, image_size)
        dims = tuple(
            d if isinstance(d, int) and d > 0 and i > 0 else wanted[i]
            for i, d in enumerate(shape or wanted)
        )
        if text:
            fill = 1 if name == "attention_mask" else 0
            dummies[name] = np.full(dims, fill, dtype=session.int_type(name))
        else:
            dummies[name] = np.zeros(dims, dtype=np.float32)
    return dummies


def _vectors(out: npt.NDArray[Any], session: Session, spec: ModelSpec, name: str) -> Float32Array:
    out = np.asarray(out)
    if out.ndim != 2 or out.shape[1] != spec.dim:
        raise ModelError(
            f"{session.path} of model {spec.id!r} gives {name!r} of shape {out.shape}, where "
            f"its spec promises (N, {spec.dim}): the file is not this model's. {session.fix}"
        )
    return normalize_rows(out)


class ImageEncoder:
    """Photos to unit vectors: the spec's preprocessing, then the image graph."""

    def __init__(self, spec: ModelSpec, session: Session) -> None:
        self.spec = spec
        self.session = session
        self.preprocess = Preprocessor(spec.image.preprocess)
        """An RGB photo of any size -> (3, S, S) float32 pixels ready for `encode`."""
        self._checked = False
        self._constant: dict[str, Any] | None = None

    def _outputs(self, regions: bool) -> list[str]:
        outputs = [self.spec.image.output]
        if regions and self.spec.fusion is not None:
            outputs.append(self.spec.fusion.regions_output)
        return outputs

    def _batch(self, pixels: npt.ArrayLike) -> Float32Array:
        batch = np.asarray(pixels, dtype=np.float32)
        size = self.spec.image.size
        if batch.ndim != 4 or batch.shape[1:] != (3, size, size):
            raise ValueError(f"expected pixels of shape (N, 3, {size}, {size}), not {batch.shape}")
        return batch

    def _run(self, batch: Float32Array, regions: bool) -> list[npt.NDArray[Any]]:
        size = self.spec.image.size
        if not self._checked:
            inputs = [self.spec.image.input]
            self.session.check_io(inputs, self._outputs(True), exact=not self.spec.combined)
            self._constant = (
                _other_tower(self.session, inputs, size) if self.spec.combined else None
            )
            self._checked = True
        return self.session.run(
            self._outputs(regions), {self.spec.image.input: batch}, _IMAGE_BATCH, self._constant
        )

    def encode(self, pixels: npt.ArrayLike) -> Float32Array:
        """(N, 3, S, S) preprocessed pixels -> (N, dim) float32 unit rows."""
        batch = self._batch(pixels)
        if len(batch) == 0:
            return np.zeros((0, self.spec.dim), dtype=np.float32)
        (out,) = self._run(batch, False)
        return _vectors(out, self.session, self.spec, self.spec.image.output)

    def encode_with_regions(
        self, pixels: npt.ArrayLike
    ) -> tuple[Float32Array, npt.NDArray[np.float16] | None]:
        """(N, 3, S, S) pixels -> ((N, dim) unit rows, (N, R, D) float16 fusion regions);
        the regions are None when the model has no fusion head."""
        fusion = self.spec.fusion
        if fusion is None:
            return self.encode(pixels), None
        batch = self._batch(pixels)
        if len(batch) == 0:
            empty = np.zeros((0, fusion.regions, fusion.region_dim), dtype=np.float16)
            return np.zeros((0, self.spec.dim), dtype=np.float32), empty
        vectors, regions = self._run(batch, True)
        if regions.shape[1:] != (fusion.regions, fusion.region_dim):
            raise ModelError(
                f"{self.session.path} of model {self.spec.id!r} gives regions of shape "
                f"{regions.shape}, where its spec promises (N, {fusion.regions}, "
                f"{fusion.region_dim}). {self.session.fix}"
            )
        vectors = _vectors(vectors, self.session, self.spec, self.spec.image.output)
        return vectors, np.asarray(regions, dtype=np.float16)

    def encode_images(self, images: Sequence[Image.Image]) -> Float32Array:
        """Photos -> (N, dim) float32 unit rows (`preprocess` then `encode`)."""
        if not images:
            return np.zeros((0, self.spec.dim), dtype=np.float32)
        return self.encode(np.stack([self.preprocess(im) for im in images]))


class TextEncoder:
    """Texts to unit vectors: the spec's tokenizer, then the text graph."""

    def __init__(self, spec: ModelSpec, session: Session, model_dir: Path) -> None:
        self.spec = spec
        self.session = session
        self._tokenizer = LazyTokenizer(model_dir, spec.text.tokenizer)
        self._checked = False
        self._inputs: tuple[str, ...] = spec.text.inputs
        self._constant: dict[str, Any] | None = None
        self._language_lock = threading.Lock()
        self._takes_language: bool | None = None

    @property
    def tokenizer(self) -> TextTokenizer:
        return self._tokenizer.get()

    @property
    def takes_language(self) -> bool:
        """Whether the tokenizer puts the text's language code first (NLLB's towers): then
        `encode(texts, language=...)` tells it the queries' language."""
        if self._takes_language is None:
            tokenizer = self.tokenizer
            self._takes_language = (
                isinstance(tokenizer, HFTokenizer) and tokenizer.language_token() is not None
            )
        return self._takes_language

    def tokenize(self, texts: Sequence[str], language: str | None = None) -> Tokens:
        """Ids and attention mask of `texts`, as the spec's tokenizer makes them; `language`
        (ISO 639-1 or FLORES-200) for a tokenizer that takes one, else ignored."""
        if isinstance(texts, str):
            raise TypeError("tokenize() takes a sequence of texts, not one string")
        tokenizer = self.tokenizer
        if language is None or not self.takes_language:
            return tokenizer(texts)
        assert isinstance(tokenizer, HFTokenizer)
        with self._language_lock:  # the code is the tokenizer's state: one caller at a time
            default = tokenizer.language_token()
            tokenizer.set_language(language)
            try:
                return tokenizer(texts)
            finally:
                if default is not None:
                    tokenizer.set_language(default)

    def feed(self, tokens: Tokens) -> dict[str, npt.NDArray[Any]]:
        """The text graph's inputs for `tokens`, by name, in the types the graph takes."""
        arrays = {
            "input_ids": tokens.ids,
            "text": tokens.ids,
            "attention_mask": tokens.mask,
            "token_type_ids": np.zeros_like(tokens.ids),
        }
        self._ready()
        return {
            name: arrays[name].astype(self.session.int_type(name), copy=False)
            for name in self._inputs
        }

    def _ready(self) -> None:
        if not self._checked:
            outputs = [self.spec.text.output]
            if self.spec.fusion is not None:
                outputs.append(self.spec.fusion.tokens_output)
            combined = self.spec.combined
            self.session.check_io(self.spec.text.inputs, outputs, exact=not combined)
            if combined:
                # Feed every text input the graph has (the mask too, if it takes one).
                have = self.session.input_shapes()
                self._inputs = tuple(n for n in _TEXT_INPUTS if n in have)
                self._constant = _other_tower(self.session, self._inputs, self.spec.image.size)
            self._checked = True

    def encode(self, texts: Sequence[str], language: str | None = None) -> Float32Array:
        """Texts -> (N, dim) float32 unit rows, run in batches (each padded to its longest
        text when the tokenizer pads to the longest); `language` as for `tokenize`."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts, not one string")
        if not texts:
            return np.zeros((0, self.spec.dim), dtype=np.float32)
        self._ready()
        out = []
        for i in range(0, len(texts), _TEXT_BATCH):
            (vectors,) = self.session.run(
                [self.spec.text.output],
                self.feed(self.tokenize(texts[i : i + _TEXT_BATCH], language)),
                _TEXT_BATCH,
                self._constant,
            )
            out.append(_vectors(vectors, self.session, self.spec, self.spec.text.output))
        return np.concatenate(out)

    def encode_with_tokens(
        self, texts: Sequence[str]
    ) -> tuple[Float32Array, Float32Array, npt.NDArray[np.int64]]:
        """Texts -> ((N, dim) unit rows, (N, L, D) fusion tokens, (N, L) attention mask), all
        padded to the longest text. Only for models with a fusion head."""
        fusion = self.spec.fusion
        if fusion is None:
            raise ModelError(f"model {self.spec.id!r} has no fusion head")
        tokens = self.tokenize(texts)
        if not texts:
            width = tokens.ids.shape[1]
            return (
                np.zeros((0, self.spec.dim), dtype=np.float32),
                np.zeros((0, width, fusion.region_dim), dtype=np.float32),
                tokens.mask,
            )
        self._ready()
        vectors, token_states = self.session.run(
            [self.spec.text.output, fusion.tokens_output], self.feed(tokens), len(texts) or 1
        )
        return (
            _vectors(vectors, self.session, self.spec, self.spec.text.output),
            np.asarray(token_states, dtype=np.float32),
            tokens.mask,
        )


class FusionHead:
    """The fusion graph: match logits of (photo regions, text tokens) pairs."""

    INPUTS = ("regions", "tokens", "attention_mask")

    def __init__(self, spec: ModelSpec, session: Session) -> None:
        if spec.fusion is None:
            raise ModelError(f"model {spec.id!r} has no fusion head")
        self.spec = spec
        self.fusion = spec.fusion
        self.session = session
        self._checked = False

    def score(
        self, regions: npt.ArrayLike, tokens: npt.ArrayLike, mask: npt.ArrayLike
    ) -> Float32Array:
        """Logits (N,) of pairs: regions (N, R, D), tokens (N, L, D), mask (N, L)."""
        r = np.asarray(regions, dtype=np.float32)
        if len(r) == 0:
            return np.zeros(0, dtype=np.float32)
        if not self._checked:
            self.session.check_io(self.INPUTS, [self.fusion.score_output])
            self._checked = True
        feed: dict[str, npt.NDArray[Any]] = {
            "regions": r,
            "tokens": np.asarray(tokens, dtype=np.float32),
            "attention_mask": np.asarray(mask, dtype=np.int64),
        }
        (out,) = self.session.run([self.fusion.score_output], feed, _FUSION_BATCH)
        return np.asarray(out, dtype=np.float32)

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
    """A loaded model: its spec, its encoders and fusion head (sessions start on first
    use), and the precision its graphs run at."""

    spec: ModelSpec
    image: ImageEncoder
    text: TextEncoder
    fusion: FusionHead | None = None
    precision: str = "fp32"
    model_dir: Path | None = None


def _graph_paths(
    model_dir: Path, spec: ModelSpec, precision: str, fp16_cache: Path | None
) -> tuple[str, dict[str, Path]]:
    """(precision actually used, {fp32 graph name: file to run}): the spec's own variant
    files where the folder holds them; for our models' fp16, twins made once in
    `fp16_cache`; else fp32 (with a warning when another precision was asked for)."""
    fp32 = {name: model_dir / name for name in spec.graphs()}
    if precision == "fp32":
        return "fp32", fp32
    files = spec.graph_files(precision)
    if files is not None and all((model_dir / f).is_file() for f in files):
        chosen = dict(fp32)
        chosen[spec.image.file], chosen[spec.text.file] = model_dir / files[0], model_dir / files[1]
        return precision, chosen
    if precision == "fp16" and spec.layout == "mmsearch" and fp16_cache is not None:
        try:
            twins = fp16_twins(model_dir, spec, fp16_cache)
            return "fp16", {name: twins / name for name in spec.graphs()}
        except Exception as e:  # a converter problem must not cost the user the model
            log.warning("no fp16 graphs for %s (%s): running fp32", spec.id, e)
            return "fp32", fp32
    log.info("model %s has no %s graphs here: running fp32", spec.id, precision)
    return "fp32", fp32


def load_model(
    model_dir: Path,
    threads: int | None = None,
    *,
    verify: bool = False,
    providers: Sequence[str] | None = None,
    precision: str = "fp32",
    spec: ModelSpec | None = None,
    fp16_cache: Path | None = None,
    verified_cache: Path | None = None,
) -> Model:
    """Open the model in `model_dir` (its spec read by `formats.load_spec` unless given).

    `precision` "fp16" or "int8" runs the spec's graphs of that precision where the folder
    holds them (fp16 for our models: twins made once in `fp16_cache`; meant for the GPU),
    else fp32. Every file is checked against the SHA-256 its spec recorded, hashing only
    files whose size, mtime or ctime changed since they were last verified (see
    `mmsearch.encoders.integrity`; `verified_cache` keeps that state when the model folder
    is read-only); `verify=True` hashes every file. A damaged file raises ModelError naming
    the file, the model and the fix.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    model_dir = Path(model_dir)
    if spec is None:
        spec = load_spec(model_dir)
    else:
        spec.check_files(model_dir, fix_for(spec))
    verify_model_files(model_dir, spec, verified_cache, force=verify)
    used, paths = _graph_paths(model_dir, spec, precision, fp16_cache)
    fix = fix_for(spec)
    fix = fix[0].upper() + fix[1:] + "."

    def session(name: str) -> Session:
        return Session(
            paths[name],
            threads,
            providers,
            model_id=spec.id,
            basic_optimizations=used == "fp16",
            fix=fix,
        )

    fusion = FusionHead(spec, session(spec.fusion.file)) if spec.fusion is not None else None
    return Model(
        spec=spec,
        image=ImageEncoder(spec, session(spec.image.file)),
        text=TextEncoder(spec, session(spec.text.file), model_dir),
        fusion=fusion,
        precision=used,
        model_dir=model_dir,
    )


def fusion_parts(model: Model) -> tuple[FusionHead, TextEncoder] | None:
    """The fusion head and the text encoder that feeds it tokens, when the model has one."""
    if model.fusion is not None:
        return model.fusion, model.text
    return None


# -- the probe: refuse a model that isn't what its spec says, before it is used -----------

PROBE_TEXTS = ("a photo of a cat on a sofa", "a red car parked in a street")
"""The probe texts: two different ordinary captions."""


def probe_images() -> list[Image.Image]:
    """Two fixed, deterministic pictures (a colour gradient and a checkerboard with a disc):
    different enough that any working image graph gives two finite, different vectors."""
    x = np.linspace(0, 255, 320, dtype=np.float32)
    y = np.linspace(0, 255, 240, dtype=np.float32)[:, None]
    gradient = np.stack(
        [np.broadcast_to(x, (240, 320)), np.broadcast_to(y, (240, 320)), (x + y) / 2], axis=-1
    )
    yy, xx = np.mgrid[0:256, 0:256]
    board = (((xx // 32) + (yy // 32)) % 2 * 200 + 30).astype(np.float32)
    disc = (xx - 128) ** 2 + (yy - 128) ** 2 < 60**2
    checker = np.stack([board, board * 0.5, np.where(disc, 255.0, board)], axis=-1)
    return [
        Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "RGB") for a in (gradient, checker)
    ]


def probe_model(model: Model, where: Path | str) -> None:
    """Run a fixed batch of 2 images and the 2 probe texts through the model; raise
    ModelError naming the model and what is wrong unless each gives (2, dim) finite vectors
    of unit length before our normalisation would hide it. For installs: a graph with the
    right input names but the wrong computation (an Identity, another model's head) is
    refused before it is used."""
    spec = model.spec
    for part in ("image", "text"):
        try:
            if part == "image":
                out = np.asarray(model.image.encode_images(probe_images()))
            else:
                out = np.asarray(model.text.encode(list(PROBE_TEXTS)))
        except ModelError as e:
            raise ModelError(f"model {spec.id!r} ({where}) fails its probe: {e}") from e
        except Exception as e:  # any failure of a graph on ordinary input is the model's
            raise ModelError(
                f"model {spec.id!r} ({where}): its {part} graph fails on a probe input: {e}"
            ) from e
        if out.shape != (2, spec.dim):
            raise ModelError(
                f"model {spec.id!r} ({where}): its {part} graph gives vectors of shape "
                f"{out.shape} for 2 probe inputs, not (2, {spec.dim}): it is not this model."
            )
        if not np.isfinite(out).all():
            raise ModelError(
                f"model {spec.id!r} ({where}): its {part} graph gives NaN or infinite values "
                "on a probe input: the file is damaged or not this model."
            )
        norms = np.linalg.norm(out.astype(np.float64), axis=1)
        if not np.allclose(norms, 1.0, atol=0.02):
            raise ModelError(
                f"model {spec.id!r} ({where}): its {part} graph gives vectors that can't be "
                f"normalised (lengths {', '.join(f'{n:.3g}' for n in norms)}): it is not "
                "this model."
            )
        if np.allclose(out[0], out[1], atol=1e-6):
            raise ModelError(
                f"model {spec.id!r} ({where}): its {part} graph gives the same vector for two "
                "different probe inputs: it is not this model."
            )
