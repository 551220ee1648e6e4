"""Texts to token ids, by the spec's `TokenizerSpec`: one pluggable tokenizer per kind.

Every kind gives `Tokens` (ids and attention mask, int64 (N, L)); the text encoder feeds
them to the graph by its input names. All read a Hugging Face `tokenizers` JSON file with
the `tokenizers` library; what each kind adds is what its reference implementation does and
no tokenizer.json can say:

- "hf": the file's own normaliser, pre-tokenizer and post-processor (special tokens), after
  the spec's clean-up, cut to the context length, padded to the longest text of the batch
  or to the context length (our MiniLM towers; SigLIP, SigLIP2, XLM-R and NLLB towers, as
  open_clip's `HFTokenizer` runs them through `transformers`).
- "clip-bpe": CLIP's clean-up (ftfy, HTML unescape, whitespace, lower-case) in Python, the
  file's BPE, then `[begin] + ids + [end]` cut to 77 keeping the end token, padded with 0
  (open_clip's `SimpleTokenizer`; works with Immich's files and ours).
- "bert-wordpiece": cn_clip's BERT basic tokenizer in Python (`bert_words`), the file's
  WordPiece only, then `[CLS] + ids + [SEP]` cut to 52 keeping `[SEP]`, padded with 0.

The parity tests (`tests/test_clip_parity.py`) hold each kind to identical ids.
"""

from __future__ import annotations

import html
import string
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import ftfy
import numpy as np
import numpy.typing as npt
from tokenizers import Tokenizer

from mmsearch.encoders.spec import ModelError, TokenizerSpec

Int64Array = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Tokens:
    """A batch of texts as ids and attention mask (1 for a token, 0 for padding)."""

    ids: Int64Array
    mask: Int64Array


class TextTokenizer:
    """The tokenizer of one model: `tokenizer(texts)` -> `Tokens`."""

    def __call__(self, texts: Sequence[str]) -> Tokens:
        raise NotImplementedError

    def ids(self, text: str) -> list[int]:
        """One text's ids, without padding."""
        tokens = self([text])
        return [int(i) for i, m in zip(tokens.ids[0], tokens.mask[0], strict=True) if m]


# -- clean-up ------------------------------------------------------------------------------

_PUNCTUATION = str.maketrans("", "", string.punctuation)


def _basic(text: str) -> str:
    text = ftfy.fix_text(text)
    return html.unescape(html.unescape(text)).strip()


def canonicalize(text: str) -> str:
    """open_clip's (big_vision's) canonical text: `_` to space, ASCII punctuation dropped,
    lower-cased, whitespace collapsed."""
    text = text.replace("_", " ").translate(_PUNCTUATION).lower()
    return " ".join(text.split()).strip()


def clean_text(text: str, rule: str) -> str:
    """The text as the model's tokenizer saw it in training (open_clip's clean functions).

    "ftfy-html-whitespace": repair mojibake and normalise with ftfy (straight quotes, NFC,
    half-width forms), unescape HTML entities twice, collapse whitespace; "-lower" then
    lower-cases (CLIP's); "ftfy-html-canonicalize" canonicalises instead (SigLIP's). A
    tokenizer.json normaliser can't do ftfy's repairs, so without this step curly quotes,
    ligatures, full-width punctuation and `&amp;` would give ids the model never saw.
    "none" leaves the text as it is (the tokenizer may still normalise it).
    """
    if rule == "none":
        return text
    if rule == "ftfy-html-canonicalize":
        return canonicalize(_basic(text))
    text = " ".join(_basic(text).split()).strip()
    return text.lower() if rule == "ftfy-html-whitespace-lower" else text


# -- BERT's basic tokenizer, as cn_clip ----------------------------------------------------


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

# Begin/end-of-text tokens by kind, in the order we look them up. Immich's files (made by
# Hugging Face's CLIPTokenizer) spell CLIP's as <|startoftext|>; open_clip as <start_of_text>.
_SPECIAL_TOKENS = {
    "clip-bpe": (("<|startoftext|>", "<start_of_text>"), ("<|endoftext|>", "<end_of_text>")),
    "bert-wordpiece": (("[CLS]",), ("[SEP]",)),
}


def _load(path: Path) -> Tokenizer:
    try:
        return Tokenizer.from_file(str(path))
    except Exception as e:  # tokenizers raises a bare Exception for bad files
        raise ModelError(f"can't load the tokenizer {path}: {e}.") from e


def _token_id(tokenizer: Tokenizer, path: Path, names: Sequence[str]) -> int:
    for name in names:
        token_id = tokenizer.token_to_id(name)
        if token_id is not None:
            return int(token_id)
    raise ModelError(f"the tokenizer {path} has none of the tokens {', '.join(names)}.")


def _pack(rows: Sequence[Sequence[int]], spec: TokenizerSpec, pad_id: int) -> Tokens:
    """Rows of ids (each at most the context length) padded per the spec."""
    width = spec.context_length
    if spec.padding == "longest":
        width = max((len(r) for r in rows), default=0)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return Tokens(ids, mask)


class FramedTokenizer(TextTokenizer):
    """Kinds "clip-bpe" and "bert-wordpiece": clean-up in Python, the file's model for the
    pieces, then `[begin] + ids + [end]` framed and cut by us (files from other exporters
    disagree on their post-processor, truncation and padding settings)."""

    def __init__(self, path: Path, spec: TokenizerSpec) -> None:
        self.spec = spec
        self.tokenizer = _load(path)
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        self._bert = spec.kind == "bert-wordpiece"
        if self._bert:
            # `bert_words` normalises and splits (exactly as cn_clip); the file's WordPiece
            # only cuts each word into pieces.
            self.tokenizer.normalizer = None
            self.tokenizer.pre_tokenizer = None
            if type(self.tokenizer.model).__name__ == "WordPiece":
                self.tokenizer.model.max_input_chars_per_word = _BERT_MAX_WORD_CHARS
        begin_names, end_names = _SPECIAL_TOKENS[spec.kind]
        self.begin_id = _token_id(self.tokenizer, path, begin_names)
        self.end_id = _token_id(self.tokenizer, path, end_names)

    def rows(self, texts: Sequence[str]) -> list[list[int]]:
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

    def __call__(self, texts: Sequence[str]) -> Tokens:
        if isinstance(texts, str):
            raise TypeError("pass a sequence of texts, not one string")
        return _pack(
            self.rows(texts), self.spec, 0 if self.spec.pad_id is None else self.spec.pad_id
        )


def _published_pad_id(path: Path, tokenizer: Tokenizer) -> int:
    """The pad token a published tokenizer names: `pad_token` of the tokenizer_config.json
    beside it (what transformers reads), else the tokenizer.json's own padding setting."""
    import json

    config = path.parent / "tokenizer_config.json"
    names: list[str] = []
    try:
        pad = json.loads(config.read_text(encoding="utf-8")).get("pad_token")
        if isinstance(pad, dict):
            pad = pad.get("content")
        if isinstance(pad, str):
            names.append(pad)
    except (OSError, ValueError, AttributeError):
        pass
    padding = tokenizer.padding
    if padding and isinstance(padding.get("pad_token"), str):
        names.append(padding["pad_token"])
    for name in names:
        token_id = tokenizer.token_to_id(name)
        if token_id is not None:
            return int(token_id)
    raise ModelError(
        f"the tokenizer {path} names no pad token (in {config} or itself), and the model's "
        "spec gives no pad id: download or import the model again."
    )


# FLORES-200 codes (NLLB's language tokens) for the languages people search in, by ISO 639-1
# code or locale; what open_clip's HFTokenizer.set_language and Immich take. Chinese is
# Simplified unless the locale says Traditional (zh_TW, zh_HK, zh_Hant).
FLORES_200 = {
    "ar": "arb_Arab", "bn": "ben_Beng", "cs": "ces_Latn", "da": "dan_Latn", "de": "deu_Latn",
    "el": "ell_Grek", "en": "eng_Latn", "es": "spa_Latn", "fa": "pes_Arab", "fi": "fin_Latn",
    "fil": "tgl_Latn", "fr": "fra_Latn", "he": "heb_Hebr", "hi": "hin_Deva", "hr": "hrv_Latn",
    "hu": "hun_Latn", "id": "ind_Latn", "it": "ita_Latn", "ja": "jpn_Jpan", "ko": "kor_Hang",
    "mi": "mri_Latn", "nl": "nld_Latn", "no": "nob_Latn", "nb": "nob_Latn", "pl": "pol_Latn",
    "pt": "por_Latn", "quz": "quy_Latn", "ro": "ron_Latn", "ru": "rus_Cyrl", "sv": "swe_Latn",
    "sw": "swh_Latn", "te": "tel_Telu", "th": "tha_Thai", "tr": "tur_Latn", "uk": "ukr_Cyrl",
    "vi": "vie_Latn", "zh": "zho_Hans", "zh_hant": "zho_Hant", "zh_tw": "zho_Hant",
    "zh_hk": "zho_Hant", "zh_mo": "zho_Hant",
}  # fmt: skip
DEFAULT_FLORES_200 = "eng_Latn"


def flores_200_code(language: str) -> str:
    """The FLORES-200 code for a language ("zh", "zh_CN", "zh-TW", "de-DE", or a FLORES-200
    code itself); English (eng_Latn, NLLB's and open_clip's default) when we know none."""
    if len(language) == 8 and language[3] == "_":  # already "zho_Hans"
        return language
    key = language.replace("-", "_").lower()
    return FLORES_200.get(key) or FLORES_200.get(key.split("_")[0]) or DEFAULT_FLORES_200


class HFTokenizer(TextTokenizer):
    """Kind "hf": the file's whole pipeline, special tokens included, after the spec's
    clean-up; truncated to the context length and padded as the spec says."""

    def __init__(self, path: Path, spec: TokenizerSpec) -> None:
        self.spec = spec
        self.tokenizer = _load(path)
        # Set from the spec, whatever the file says: the graph was checked with these.
        self.tokenizer.enable_truncation(max_length=spec.context_length)
        self.tokenizer.no_padding()
        self.pad_id = (
            spec.pad_id if spec.pad_id is not None else _published_pad_id(path, self.tokenizer)
        )
        self._sep = None
        if spec.strip_sep:
            self._sep = _token_id(self.tokenizer, path, ("[SEP]", "</s>"))
        self._language = self._file_language()

    def _file_language(self) -> str | None:
        """The language code the file's post-processor puts first (NLLB's tokenizers:
        "eng_Latn" in `eng_Latn text </s>`), else None. Reads the whole file's JSON: once."""
        import json

        processor = json.loads(self.tokenizer.to_str()).get("post_processor") or {}
        single = processor.get("single") if processor.get("type") == "TemplateProcessing" else None
        first = single[0].get("SpecialToken", {}).get("id") if single else None
        is_code = isinstance(first, str) and len(first) == 8 and first[3] == "_"
        return first if is_code else None

    def language_token(self) -> str | None:
        """The language code put first now (the file's, or the last `set_language`'s); None
        for a tokenizer that takes none."""
        return self._language

    def set_language(self, language: str) -> str:
        """Tokenize as text in `language` from now on (a FLORES-200 code or what
        `flores_200_code` maps): the language code token replaces the file's first one, as
        open_clip's HFTokenizer.set_language does for NLLB (`code text </s>`). Returns the
        code used. A tokenizer without a language code (XLM-R...) raises ModelError."""
        from tokenizers.processors import TemplateProcessing

        if self._language is None:
            raise ModelError("this model's tokenizer takes no language code.")
        code = flores_200_code(language)
        if code == self._language:
            return code
        code_id = self.tokenizer.token_to_id(code)
        eos_id = self.tokenizer.token_to_id("</s>")
        if code_id is None or eos_id is None:
            raise ModelError(f"this model's tokenizer has no language code {code}.")
        self.tokenizer.post_processor = TemplateProcessing(
            single=f"{code} $A </s>",
            pair=f"{code} $A $B </s>",
            special_tokens=[(code, int(code_id)), ("</s>", int(eos_id))],
        )
        self._language = code
        return code

    def __call__(self, texts: Sequence[str]) -> Tokens:
        if isinstance(texts, str):
            raise TypeError("pass a sequence of texts, not one string")
        cleaned = [clean_text(t, self.spec.clean) for t in texts]
        rows = [e.ids for e in self.tokenizer.encode_batch(cleaned)]
        tokens = _pack(rows, self.spec, self.pad_id)
        if self._sep is not None:
            # open_clip's strip_sep_token: the separator becomes 0 (and stays in the mask).
            tokens.ids[tokens.ids == self._sep] = 0
        return tokens


_KINDS: dict[str, Callable[[Path, TokenizerSpec], TextTokenizer]] = {
    "hf": HFTokenizer,
    "clip-bpe": FramedTokenizer,
    "bert-wordpiece": FramedTokenizer,
}


def make_tokenizer(model_dir: Path, spec: TokenizerSpec) -> TextTokenizer:
    """The tokenizer the spec describes, reading its file from `model_dir`."""
    return _KINDS[spec.kind](Path(model_dir) / spec.file, spec)


class LazyTokenizer:
    """A tokenizer loaded on first use (thread-safe): a process that never encodes text
    never reads the tokenizer file."""

    def __init__(self, model_dir: Path, spec: TokenizerSpec) -> None:
        self._model_dir, self._spec = Path(model_dir), spec
        self._tokenizer: TextTokenizer | None = None
        self._lock = threading.Lock()

    def get(self) -> TextTokenizer:
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    self._tokenizer = make_tokenizer(self._model_dir, self._spec)
        return self._tokenizer
