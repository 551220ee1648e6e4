"""The language a text is written in, as its script says: what decides which text tower of
a model reads a query, and whether the model reads it at all (the language notice)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

_SCRIPTS = (
    # (unicodedata name prefix, language)
    ("CJK UNIFIED IDEOGRAPH", "zh"),
    ("CJK COMPATIBILITY IDEOGRAPH", "zh"),
    ("HIRAGANA", "ja"),
    ("KATAKANA", "ja"),
    ("HANGUL", "ko"),
    ("CYRILLIC", "ru"),
    ("GREEK", "el"),
    ("ARABIC", "ar"),
    ("HEBREW", "he"),
    ("DEVANAGARI", "hi"),
    ("BENGALI", "bn"),
    ("TAMIL", "ta"),
    ("TELUGU", "te"),
    ("THAI", "th"),
    ("GEORGIAN", "ka"),
    ("ARMENIAN", "hy"),
    ("ETHIOPIC", "am"),
    ("KHMER", "km"),
    ("LAO", "lo"),
    ("MYANMAR", "my"),
    ("SINHALA", "si"),
    ("GUJARATI", "gu"),
    ("GURMUKHI", "pa"),
    ("KANNADA", "kn"),
    ("MALAYALAM", "ml"),
)


def _char_language(char: str) -> str | None:
    if char.isascii():
        return "en" if char.isalpha() else None
    name = unicodedata.name(char, "")
    for prefix, language in _SCRIPTS:
        if name.startswith(prefix):
            return language
    if name.startswith("LATIN") and char.isalpha():
        return "latin"  # an accented Latin letter: a European language, not which one
    return None


def is_ideograph(char: str) -> bool:
    """A CJK ideograph (what makes a text "zh" unless kana say "ja")."""
    return _char_language(char) == "zh"


def query_languages(text: str) -> list[str]:
    """The languages a query's scripts say it is written in, most letters first: "zh" for
    CJK ideographs (unless kana make it "ja"), "ja" for kana, "ko" for hangul, "ru" for
    Cyrillic, "el", "ar", "he", "hi", "th"...; Latin letters give "en" (plain ASCII) or
    "latin" (accented: some European language; the script can't say which). Digits,
    punctuation and emoji say nothing. An empty list: no letters."""
    counts: dict[str, int] = {}
    for char in text:
        language = _char_language(char)
        if language is not None:
            counts[language] = counts.get(language, 0) + 1
    if "ja" in counts and "zh" in counts:  # kanji in a Japanese sentence
        counts["ja"] += counts.pop("zh")
    if "latin" in counts and "en" in counts:  # "café au lait": one Latin-script text
        counts["latin"] += counts.pop("en")
    return sorted(counts, key=lambda lang: -counts[lang])


def not_understood(model_languages: Iterable[str], text: str) -> list[str]:
    """The languages of `text` (by script) that a model trained for `model_languages`
    doesn't read. Latin script counts as read by any model that reads a Latin-script
    language (the script can't tell English from French); "multilingual" reads all."""
    have = {code.lower() for code in model_languages}
    if "multilingual" in have:
        return []
    latin_ok = bool(have & _LATIN_LANGUAGES)
    missing = []
    for language in query_languages(text):
        if language in ("en", "latin"):
            if not latin_ok:
                missing.append(language)
        elif language not in have:
            missing.append(language)
    return missing


def understands(model_languages: Iterable[str], text: str) -> bool:
    """Whether a model trained for `model_languages` reads the query `text`."""
    return not not_understood(model_languages, text)


_LATIN_LANGUAGES = {
    "en", "fr", "de", "es", "it", "pt", "nl", "sv", "da", "no", "nb", "fi", "pl", "cs",
    "sk", "sl", "hr", "ro", "hu", "tr", "id", "ms", "vi", "ca", "eu", "gl", "et", "lv",
    "lt", "sq", "af", "sw", "tl", "is", "ga", "cy",
}  # fmt: skip
