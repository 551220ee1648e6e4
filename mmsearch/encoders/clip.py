"""CLIP-family models through ONNX Runtime: specs as data, preprocessing, tokenizer, sessions.

A CLIP model is described by a JSON spec (one per model in `models/specs/`, format
`clip-onnx`) and its runtime files in the layout the Immich project publishes on the model
hub (`config.json`, `visual/model.onnx` + `visual/preprocess_cfg.json`, `textual/model.onnx`
+ `textual/tokenizer.json` and companions). An installed model is a folder
`<data dir>/models/<id>/` holding those files plus `model.json`, the spec with the sizes and
SHA-256 of the files actually installed.

Only numpy, onnxruntime, tokenizers, ftfy and Pillow are used: torch builds and exports the
models (`models/clip/export.py`), it never runs them. Everything here reproduces what
open_clip does in torch, step for step, because the parity tests
(`tests/test_clip_parity.py`) hold us to cosine >= 0.9999 and identical token ids.
"""

from __future__ import annotations

import html
import json
import threading
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ftfy
import numpy as np
import numpy.typing as npt
from PIL import Image
from tokenizers import Tokenizer

from mmsearch.encoders.session import LazySession
from mmsearch.encoders.spec import (
    Fields,
    ModelError,
    check_relative,
    read_json_file,
    sha256_file,
)

FORMAT = "clip-onnx"
"""The `format` field of a CLIP spec: tells it apart from the bundled models' spec.json."""
SCHEMA_VERSION = 1
MODEL_FILE = "model.json"
"""The spec of an installed CLIP model, inside its folder (beside the runtime files)."""

RESIZE_MODES = ("shortest", "squash")
"""open_clip's names: "shortest" resizes the shorter side to S then centre-crops S x S;
"squash" resizes the whole photo to S x S (aspect ratio not kept)."""
INTERPOLATIONS = ("bicubic", "bilinear")
TOKENIZERS = ("clip-bpe", "bert-wordpiece")
CLEAN_RULES = ("ftfy-html-whitespace-lower", "none")

_RESAMPLE = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}

# Begin/end-of-text tokens by tokenizer kind, in the order we look them up. Immich's files (made
# by Hugging Face's CLIPTokenizer) spell CLIP's as <|startoftext|>; open_clip as <start_of_text>.
# "bert-wordpiece" is Chinese-CLIP's (cn_clip): BERT's [CLS] ... [SEP], padded with [PAD] = 0.
_SPECIAL_TOKENS = {
    "clip-bpe": (("<|startoftext|>", "<start_of_text>"), ("<|endoftext|>", "<end_of_text>")),
    "bert-wordpiece": (("[CLS]",), ("[SEP]",)),
}

# Texts per session run when the graph takes any batch size: bounds the activations.
_TEXT_BATCH = 64
_IMAGE_BATCH = 32

Float32Array = npt.NDArray[np.float32]
Int64Array = npt.NDArray[np.int64]


# -- the spec ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceFile:
    """One file of the model's hub repository; size and SHA-256 when known (None otherwise)."""

    name: str
    size: int | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class ImageSpec:
    """The image graph and how to prepare its input (mean/std apply to RGB values in 0..1)."""

    file: str
    input: str
    output: str
    size: int
    resize: str
    interpolation: str
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


@dataclass(frozen=True)
class TextSpec:
    """The text graph and its tokenizer: ids are `[begin] + tokens + [end]`, cut to
    `context_length` keeping the end token last, padded with `pad_id` (what open_clip and
    cn_clip do)."""

    file: str
    input: str
    output: str
    tokenizer: str
    tokenizer_file: str
    tokenizer_companions: tuple[str, ...]
    context_length: int
    pad_id: int
    clean: str
    languages: tuple[str, ...] = ("en",)


@dataclass(frozen=True)
class ClipSpec:
    """A CLIP-family model as data (one `models/specs/<id>.json`, or an installed
    `model.json`). `data` keeps the parsed JSON so that fields this code doesn't model
    (architecture, notes) survive a round trip."""

    id: str
    version: str
    display_name: str
    family: str
    dim: int
    image: ImageSpec
    text: TextSpec
    logit_scale: float
    license: str
    license_notes: str
    hub_repo: str | None
    revision: str
    upstream: str
    files: tuple[SourceFile, ...]
    runtime_files: tuple[str, ...]
    data: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_dict(cls, data: object, source: str = "spec") -> ClipSpec:
        """Parse spec data; ModelError names `source` and the field at fault."""
        return _parse(data, source)

    @classmethod
    def load(cls, path: Path) -> ClipSpec:
        """Read a spec file (a catalog entry or an installed folder's model.json)."""
        path = Path(path)
        fix = (
            "download or import the model again (`mmsearch models list`)"
            if path.name == MODEL_FILE
            else "reinstall mmsearch (its catalog of models is damaged)"
        )
        return _parse(read_json_file(path, fix), str(path))

    # What the rest of the app reads from any model's spec (see `mmsearch.encoders.AnyModel`).

    @property
    def image_size(self) -> int:
        return self.image.size

    @property
    def fusion(self) -> None:
        """CLIP models have no fusion head: ranking is by cosine alone."""
        return None

    @property
    def tokenizer_file(self) -> str:
        return self.text.tokenizer_file

    def file(self, name: str) -> SourceFile:
        """The recorded entry of a runtime file (size/sha256 None when unknown)."""
        for f in self.files:
            if f.name == name:
                return f
        return SourceFile(name)

    def to_dict(self) -> dict[str, Any]:
        """The spec as JSON data, with `files` as recorded here."""
        data = json.loads(json.dumps(self.data))  # a deep copy of plain JSON values
        data.setdefault("source", {})["files"] = {
            f.name: {"size": f.size, "sha256": f.sha256} for f in self.files
        }
        return dict(data)

    def with_files(self, files: Sequence[SourceFile], **extra: Any) -> ClipSpec:
        """A copy recording `files` (e.g. the sizes and hashes of an installed folder), and
        `extra` top-level fields (e.g. where it was installed from)."""
        data = self.to_dict()
        data["source"]["files"] = {f.name: {"size": f.size, "sha256": f.sha256} for f in files}
        data.update(extra)
        return _parse(data, self.id)

    def check_files(self, model_dir: Path) -> None:
        """Raise ModelError unless every runtime file is in `model_dir` (with its recorded
        size, where one is recorded). Cheap: for every start."""
        for name in self.runtime_files:
            path = Path(model_dir) / name
            try:
                size = path.stat().st_size
            except OSError:
                raise ModelError(
                    f"{path} is missing: the model {self.id!r} is incomplete; download or "
                    "import it again."
                ) from None
            expected = self.file(name).size
            if expected is not None and size != expected:
                raise ModelError(
                    f"{path} has {size} bytes where the spec of {self.id!r} records {expected}: "
                    "the file is damaged or half-copied; download or import the model again."
                )

    def verify_files(self, model_dir: Path) -> None:
        """`check_files`, then the SHA-256 of every runtime file that has one recorded."""
        self.check_files(model_dir)
        for name in self.runtime_files:
            expected = self.file(name).sha256
            if expected is not None and sha256_file(Path(model_dir) / name) != expected:
                raise ModelError(
                    f"{Path(model_dir) / name} does not match the SHA-256 recorded for model "
                    f"{self.id!r}: the file is damaged; download or import the model again."
                )


def _parse(data: object, source: str) -> ClipSpec:
    top = Fields(data, source)
    if top.text("format") != FORMAT:
        raise top.bad("format", repr(FORMAT))
    schema = top.integer("schema", minimum=1)
    if schema > SCHEMA_VERSION:
        raise ModelError(
            f"{source} uses CLIP spec layout {schema}, newer than this mmsearch reads "
            f"({SCHEMA_VERSION}): update mmsearch."
        )
    im = Fields(top.get("image"), source, "image.")
    tx = Fields(top.get("text"), source, "text.")
    src = Fields(top.get("source"), source, "source.")
    image = ImageSpec(
        file=im.text("file"),
        input=im.text("input", "image"),
        output=im.text("output", "embedding"),
        size=im.integer("size", minimum=1),
        resize=im.choice("resize", RESIZE_MODES),
        interpolation=im.choice("interpolation", INTERPOLATIONS),
        mean=im.triple("mean"),
        std=im.triple("std", positive=True),
    )
    text = TextSpec(
        file=tx.text("file"),
        input=tx.text("input", "text"),
        output=tx.text("output", "embedding"),
        tokenizer=tx.choice("tokenizer", TOKENIZERS),
        tokenizer_file=tx.text("tokenizer_file"),
        tokenizer_companions=tx.names("tokenizer_companions", []),
        context_length=tx.integer("context_length", minimum=2),
        pad_id=tx.integer("pad_id"),
        clean=tx.choice("clean", CLEAN_RULES),
        languages=tx.names("languages", ["en"]) if "languages" in tx.data else ("en",),
    )
    files_data = src.get("files", {})
    if not isinstance(files_data, dict):
        raise src.bad("files", "an object of {name: {size, sha256}}")
    files = []
    for name, entry in files_data.items():
        check_relative(name, source, "source.files")
        f = Fields(entry, source, f"source.files.{name}.")
        size = f.get("size", None)
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
            raise f.bad("size", "an integer >= 0 or null")
        sha = f.optional_text("sha256")
        if sha is not None:
            sha = sha.lower()
            if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
                raise f.bad("sha256", "64 hex digits or null")
        files.append(SourceFile(name, size, sha))
    runtime_files = top.names("runtime_files")
    for key, name in (("image.file", image.file), ("text.file", text.file)):
        check_relative(name, source, key)
        if name not in runtime_files:
            raise ModelError(f"{source}: {key} {name!r} is not listed in 'runtime_files'.")
    check_relative(text.tokenizer_file, source, "text.tokenizer_file")
    if text.tokenizer_file not in runtime_files:
        raise ModelError(f"{source}: text.tokenizer_file is not listed in 'runtime_files'.")
    model_id = top.text("id")
    if not model_id or not all(c.isascii() and (c.isalnum() or c in "-_.") for c in model_id):
        raise top.bad("id", "letters, digits, '-', '_' and '.' only (it names a folder)")
    if model_id.startswith("."):
        raise top.bad("id", "a name that doesn't start with '.'")
    return ClipSpec(
        id=model_id,
        version=top.text("version"),
        display_name=top.text("display_name"),
        family=top.text("family"),
        dim=top.integer("dim", minimum=1),
        image=image,
        text=text,
        logit_scale=top.number("logit_scale"),
        license=top.text("license"),
        license_notes=top.text("license_notes", ""),
        hub_repo=src.optional_text("hub_repo"),
        revision=src.text("revision", "main"),
        upstream=src.text("upstream", ""),
        files=tuple(files),
        runtime_files=runtime_files,
        data=top.data,
    )


# -- preprocessing -------------------------------------------------------------------------


def resize_geometry(width: int, height: int, size: int) -> tuple[int, int]:
    """The (width, height) of a photo whose shorter side is resized to `size`, rounded as
    torchvision's `Resize(size)` does (the longer side truncated, not rounded)."""
    if width <= height:
        return size, int(size * height / width)
    return int(size * width / height), size


def preprocess_image(image: Image.Image, spec: ImageSpec) -> Float32Array:
    """An image of any size and mode -> (3, S, S) float32 pixels for the image graph.

    "shortest": resize the shorter side to S (the spec's interpolation, full filter, as
    open_clip's torchvision `Resize` does), then take the centred S x S square with
    torchvision's rounding (`round`, i.e. half to even). "squash": resize to S x S. Then
    `(x / 255 - mean) / std` per channel. Matching open_clip's own pipeline (not a faster
    approximation) is what keeps cosine >= 0.9999 against it; hand in photos decoded at
    reduced size (shorter side a little above S) so the full-filter resize stays cheap.
    """
    if image.mode != "RGB":
        image = image.convert("RGB")
    size = spec.size
    resample = _RESAMPLE[spec.interpolation]
    if spec.resize == "squash":
        image = image.resize((size, size), resample)
    else:
        new_w, new_h = resize_geometry(image.width, image.height, size)
        if (new_w, new_h) != image.size:
            image = image.resize((new_w, new_h), resample)
        top = round((new_h - size) / 2.0)
        left = round((new_w - size) / 2.0)
        image = image.crop((left, top, left + size, top + size))
    pixels = np.asarray(image, dtype=np.float32) / np.float32(255.0)
    mean = np.asarray(spec.mean, dtype=np.float32)
    std = np.asarray(spec.std, dtype=np.float32)
    pixels = (pixels - mean) / std
    return np.ascontiguousarray(pixels.transpose(2, 0, 1), dtype=np.float32)


# -- tokenizer -----------------------------------------------------------------------------


def clean_text(text: str, rule: str) -> str:
    """The text as the model's tokenizer saw it in training.

    "ftfy-html-whitespace-lower" is CLIP's: repair mojibake and normalise the text with ftfy
    (straight quotes, NFC, half-width forms), unescape HTML entities twice, collapse every
    run of whitespace to one space, lower-case. The tokenizer.json normalizer only does the
    last three, so without this step curly quotes, ligatures, full-width punctuation and
    `&amp;` would give token ids the model never saw. "none" leaves the text as it is (the
    tokenizer kind may still normalise it: see `bert_words`).
    """
    if rule == "none":
        return text
    text = ftfy.fix_text(text)
    text = html.unescape(html.unescape(text)).strip()
    return " ".join(text.split()).lower()


def _is_cjk_ideograph(code: int) -> bool:
    """Whether a code point is one of the CJK ideograph blocks BERT's Chinese models give a
    word of their own (the unified ideographs, extensions A to E and the compatibility
    ideographs; not kana, not hangul, not CJK punctuation)."""
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0x2A700 <= code <= 0x2CEAF
        or 0xF900 <= code <= 0xFAFF
        or 0x2F800 <= code <= 0x2FA1F
    )


def _is_bert_punctuation(char: str) -> bool:
    """BERT's punctuation: every ASCII character that is neither a letter, a digit, a space
    nor a control (so `$`, `^`, `+`, backquote count), and every Unicode punctuation (P*)."""
    if char.isascii():
        return 0x21 <= ord(char) <= 0x7E and not char.isalnum()
    return unicodedata.category(char).startswith("P")


def bert_words(text: str) -> list[str]:
    """The words WordPiece splits, made the way cn_clip's tokenizer (BERT's basic tokenizer,
    lower-casing) makes them, so that our ids equal Chinese-CLIP's:

    1. drop NUL, U+FFFD and format/control characters (Cc, Cf) except tab, CR and LF; turn
       tab, CR, LF and every space separator (Zs) into a space;
    2. put spaces around every CJK ideograph (each is a word);
    3. split at whitespace (Python's `str.split`); lower-case each word (Python's full
       `str.lower`, which also writes a word-final sigma as ς), decompose it (NFD) and drop
       the combining marks (Mn): accents go, `café` -> `cafe`;
    4. cut each word before and after every punctuation character (`_is_bert_punctuation`),
       which becomes a word of its own.

    A tokenizer.json's own BERT normalizer and pre-tokenizer do nearly this, but drop
    private-use and unassigned characters too, lower-case one character at a time (Σ is
    always σ) and read "[CLS]" typed in a caption as the special token, which changes ids;
    so the runtime does this step in Python and uses only the file's WordPiece.
    """
    kept: list[str] = []
    for char in text:
        code = ord(char)
        if char in "\t\n\r":
            kept.append(" ")
            continue
        category = unicodedata.category(char)
        if code == 0 or code == 0xFFFD or category in ("Cc", "Cf"):
            continue
        if category == "Zs":
            kept.append(" ")
        elif _is_cjk_ideograph(code):
            kept.append(f" {char} ")
        else:
            kept.append(char)
    words: list[str] = []
    for raw in "".join(kept).split():
        word = unicodedata.normalize("NFD", raw.lower())
        piece: list[str] = []
        for char in word:
            if unicodedata.category(char) == "Mn":
                continue
            if _is_bert_punctuation(char):
                if piece:
                    words.append("".join(piece))
                    piece = []
                words.append(char)
            else:
                piece.append(char)
        if piece:
            words.append("".join(piece))
    # A word may hold whitespace that lower-casing or NFD produced: split once more, as BERT.
    return " ".join(words).split()


_BERT_MAX_WORD_CHARS = 200
"""cn_clip's WordPiece gives a longer word one [UNK]; Hugging Face's default is 100."""


class ClipTokenizer:
    """Texts -> (N, context_length) int64 ids, exactly as open_clip (or cn_clip) makes them."""

    def __init__(self, path: Path, spec: TextSpec) -> None:
        self.spec = spec
        try:
            self.tokenizer = Tokenizer.from_file(str(path))
        except Exception as e:  # tokenizers raises a bare Exception for bad files
            raise ModelError(f"can't load the tokenizer {path}: {e}.") from e
        # We add the begin/end tokens, cut and pad ourselves: files from other exporters
        # disagree on their post-processor, truncation and padding settings.
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        self._bert = spec.tokenizer == "bert-wordpiece"
        if self._bert:
            # `bert_words` normalises and splits (exactly as cn_clip); the file's WordPiece
            # only cuts each word into pieces.
            self.tokenizer.normalizer = None
            self.tokenizer.pre_tokenizer = None
            if type(self.tokenizer.model).__name__ == "WordPiece":
                self.tokenizer.model.max_input_chars_per_word = _BERT_MAX_WORD_CHARS
        begin_names, end_names = _SPECIAL_TOKENS[spec.tokenizer]
        self.begin_id = self._special(path, begin_names)
        self.end_id = self._special(path, end_names)

    def _special(self, path: Path, names: Sequence[str]) -> int:
        for name in names:
            token_id = self.tokenizer.token_to_id(name)
            if token_id is not None:
                return int(token_id)
        raise ModelError(f"the tokenizer {path} has none of the tokens {', '.join(names)}.")

    def ids(self, text: str) -> list[int]:
        """One text's ids, unpadded: begin, tokens, end, at most `context_length` of them."""
        return self.ids_batch([text])[0]

    def ids_batch(self, texts: Sequence[str]) -> list[list[int]]:
        cleaned = [clean_text(t, self.spec.clean) for t in texts]
        if self._bert:
            words = [bert_words(t) for t in cleaned]
            encodings = self.tokenizer.encode_batch(
                words, is_pretokenized=True, add_special_tokens=False
            )
        else:
            encodings = self.tokenizer.encode_batch(cleaned, add_special_tokens=False)
        limit = self.spec.context_length
        out = []
        for enc in encodings:
            ids = [self.begin_id, *enc.ids, self.end_id]
            if len(ids) > limit:
                # open_clip keeps the first tokens and overwrites the last kept one with the
                # end token (cn_clip: keeps the first limit - 2 and appends it): the same ids.
                # The text graph pools at the end token, so it must survive.
                ids = ids[:limit]
                ids[-1] = self.end_id
            out.append(ids)
        return out

    def __call__(self, texts: Sequence[str]) -> Int64Array:
        """(N, context_length) int64 ids, padded with the spec's pad id."""
        if isinstance(texts, str):
            raise TypeError("pass a sequence of texts, not one string")
        result = np.full((len(texts), self.spec.context_length), self.spec.pad_id, np.int64)
        for row, ids in enumerate(self.ids_batch(texts)):
            result[row, : len(ids)] = ids
        return result


# -- sessions and encoders -----------------------------------------------------------------


class _Session(LazySession):
    """A graph with one input: its session (made on first use), its fixed batch size if it
    has one, and `run` in chunks with unit-normalised rows out."""

    def __init__(
        self,
        path: Path,
        input_name: str,
        threads: int | None,
        providers: Sequence[str] | None,
        basic_optimizations: bool = False,
    ) -> None:
        # fp16 graphs get the basic (constant folding, redundant node) optimisations only:
        # ONNX Runtime 1.32's extended CPU fusions crash the process on them (segfault).
        super().__init__(
            path,
            threads,
            providers,
            basic_optimizations=basic_optimizations,
            fix="Download or import it again.",
        )
        self.input_name = input_name
        self.batch: int | None = None
        """The graph's fixed batch size (Immich exports batch 1), None when dynamic."""
        self.input_type = ""

    def _create(self) -> Any:
        session = super()._create()
        inputs = session.get_inputs()
        if len(inputs) != 1 or inputs[0].name != self.input_name:
            names = [i.name for i in inputs]
            raise ModelError(
                f"{self.path} takes {names}, but its spec promises one input "
                f"{self.input_name!r}: the folder mixes files of two models."
            )
        first = inputs[0].shape[0] if inputs[0].shape else None
        self.batch = first if isinstance(first, int) and first > 0 else None
        self.input_type = inputs[0].type
        return session

    def run(
        self, output: str, batch: npt.NDArray[Any], chunk: int, dim: int, model_id: str
    ) -> Float32Array:
        """Run `batch` through the graph in pieces of `chunk` rows (or of the graph's fixed
        batch size) and return the `output` rows, unit-normalised, float32. A graph that
        fails on the input or gives anything but (rows, `dim`) raises ModelError naming the
        file and the model: its files are not the model its spec describes."""
        session = self.get()
        step = self.batch or chunk
        pieces = []
        for start in range(0, len(batch), step):
            part = batch[start : start + step]
            feed = part
            if self.batch is not None and len(part) < self.batch:
                # A fixed-batch graph: fill the last run up with copies, drop them after.
                fill = np.repeat(part[-1:], self.batch - len(part), axis=0)
                feed = np.concatenate([part, fill])
            try:
                (out,) = session.run([output], {self.input_name: feed})
            except Exception as e:  # ORT raises its own Fail/InvalidArgument/... types
                raise ModelError(
                    f"{self.path} of model {model_id!r} can't run: {e}. {self._fix}"
                ) from e
            out = np.asarray(out)
            if out.ndim != 2 or out.shape[0] != len(feed) or out.shape[1] != dim:
                raise ModelError(
                    f"{self.path} of model {model_id!r} gives {output!r} of shape "
                    f"{out.shape} for {len(feed)} inputs, where the spec promises "
                    f"({len(feed)}, {dim}): the file is not this model's. {self._fix}"
                )
            pieces.append(np.asarray(out[: len(part)], dtype=np.float32))
        return normalize_rows(np.concatenate(pieces))


PRECISIONS = ("fp32", "fp16")


def graph_file(name: str, precision: str = "fp32") -> str:
    """The file of a graph at a precision: fp16 twins live in an `fp16/` folder beside it
    (`visual/model.onnx` -> `visual/fp16/model.onnx`)."""
    if precision == "fp32":
        return name
    parent, _, base = name.rpartition("/")
    return f"{parent}/{precision}/{base}" if parent else f"{precision}/{base}"


def normalize_rows(vectors: npt.ArrayLike) -> Float32Array:
    """Rows scaled to unit length (float32); an all-zero row stays zero. Graphs from other
    exporters may or may not normalise, so we always do."""
    v = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return np.asarray(v / np.maximum(norms, np.float32(1e-12)), dtype=np.float32)


class ClipImageEncoder:
    """Photos to unit vectors: the spec's preprocessing, then the image graph. Same contract
    as `mmsearch.encoders.onnx.ImageEncoder`."""

    def __init__(
        self,
        spec: ClipSpec,
        model_dir: Path,
        threads: int | None = None,
        providers: Sequence[str] | None = None,
        precision: str = "fp32",
    ) -> None:
        self.spec = spec
        path = Path(model_dir) / graph_file(spec.image.file, precision)
        self._session = _Session(path, spec.image.input, threads, providers, precision == "fp16")

    def preprocess(self, image: Image.Image) -> Float32Array:
        """An image of any size -> (3, S, S) float32 pixels ready for `encode`."""
        return preprocess_image(image, self.spec.image)

    def encode(self, pixels: npt.ArrayLike) -> Float32Array:
        """(N, 3, S, S) preprocessed pixels -> (N, dim) float32 unit rows."""
        batch = np.asarray(pixels, dtype=np.float32)
        size = self.spec.image.size
        if batch.ndim != 4 or batch.shape[1:] != (3, size, size):
            raise ValueError(f"expected pixels of shape (N, 3, {size}, {size}), not {batch.shape}")
        if len(batch) == 0:
            return np.zeros((0, self.spec.dim), dtype=np.float32)
        return self._session.run(
            self.spec.image.output, batch, _IMAGE_BATCH, self.spec.dim, self.spec.id
        )

    def encode_with_regions(self, pixels: npt.ArrayLike) -> tuple[Float32Array, None]:
        """`encode`, in the shape the indexer asks of every model: a CLIP model keeps no
        fusion regions."""
        return self.encode(pixels), None

    def encode_images(self, images: Sequence[Image.Image]) -> Float32Array:
        """Photos -> (N, dim) float32 unit rows (`preprocess` then `encode`)."""
        if not images:
            return np.zeros((0, self.spec.dim), dtype=np.float32)
        return self.encode(np.stack([self.preprocess(im) for im in images]))


class ClipTextEncoder:
    """Texts to unit vectors: the spec's tokenizer, then the text graph. Same contract as
    `mmsearch.encoders.onnx.TextEncoder.encode`."""

    def __init__(
        self,
        spec: ClipSpec,
        model_dir: Path,
        threads: int | None = None,
        providers: Sequence[str] | None = None,
        precision: str = "fp32",
    ) -> None:
        self.spec = spec
        self._model_dir = Path(model_dir)
        path = self._model_dir / graph_file(spec.text.file, precision)
        self._session = _Session(path, spec.text.input, threads, providers, precision == "fp16")
        self._tokenizer: ClipTokenizer | None = None
        self._lock = threading.Lock()

    @property
    def tokenizer(self) -> ClipTokenizer:
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    path = self._model_dir / self.spec.text.tokenizer_file
                    self._tokenizer = ClipTokenizer(path, self.spec.text)
        return self._tokenizer

    def tokenize(self, texts: Sequence[str]) -> Int64Array:
        """(N, context_length) int64 token ids."""
        return self.tokenizer(texts)

    def encode(self, texts: Sequence[str]) -> Float32Array:
        """Texts -> (N, dim) float32 unit rows."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts, not one string")
        if not texts:
            return np.zeros((0, self.spec.dim), dtype=np.float32)
        ids = self.tokenize(texts)
        self._session.get()
        # Immich's graphs take int32 ids, ours too; a graph exported with int64 gets int64.
        if self._session.input_type == "tensor(int32)":
            ids = ids.astype(np.int32)
        return self._session.run(
            self.spec.text.output, ids, _TEXT_BATCH, self.spec.dim, self.spec.id
        )


@dataclass
class ClipModel:
    """A loaded CLIP model: its spec and its two encoders (sessions start on first use)."""

    spec: ClipSpec
    image: ClipImageEncoder
    text: ClipTextEncoder
    fusion: None = None
    precision: str = "fp32"


def load_clip_model(
    model_dir: Path,
    threads: int | None = None,
    *,
    verify: bool = False,
    providers: Sequence[str] | None = None,
    spec: ClipSpec | None = None,
    precision: str = "fp32",
) -> ClipModel:
    """Open the CLIP model in `model_dir`: its `model.json` (or the given `spec`) and files.

    `verify=True` also checks every recorded SHA-256 (after an install). `precision="fp16"`
    runs the fp16 twins of the graphs (`visual/fp16/model.onnx`...; float32 in and out),
    half the size on disk and in memory, slightly less exact (see docs/models-clip.md).
    Raises ModelError naming the file at fault.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    model_dir = Path(model_dir)
    if spec is None:
        spec = ClipSpec.load(model_dir / MODEL_FILE)
    spec.check_files(model_dir)
    if verify:
        spec.verify_files(model_dir)
    return ClipModel(
        spec=spec,
        image=ClipImageEncoder(spec, model_dir, threads, providers, precision),
        text=ClipTextEncoder(spec, model_dir, threads, providers, precision),
        precision=precision,
    )


def is_clip_model_dir(path: Path) -> bool:
    """Whether `path` is an installed CLIP model folder (holds a model.json)."""
    return (Path(path) / MODEL_FILE).is_file()
