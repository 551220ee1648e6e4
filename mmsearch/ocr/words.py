"""Words of photo text and of queries, in the one folded form both are compared in.

The catalog keeps each photo's text folded (`fold`: NFKC, then case-folded) and an FTS5
trigram index over it, so a query word is found as a substring: inside a line the
recogniser ran together, and in Chinese, which has no spaces to split on; a Latin word must
then be a whole word of the text (`contains`: "the" is not found in "theatre", "invoice"
is in "INVOICE2024" and "Invoices"). Terms shorter than three characters can't use
trigrams: the index answers the others, and those filter its rows.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mmsearch.ocr.reader import TextLine

TEXT_PREFIX = "text:"
"""A query that starts with it searches only the text in photos: `text:invoice`."""

# What a visual query says around the words it wants to see ("a sign that says open"):
# never asked of the text index on its own.
_STOP_WORDS = frozenset(
    """a an the of in on at to with and or for is are be by from near into over under this
    that these those there here it its as photo photos picture pictures image images shot
    says say saying said reads reading read written writing word words text sign signs
    showing shows show some any""".split()  # noqa: SIM905 (a list of 70 words is no clearer)
)
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+", re.UNICODE)
_CJK_RUN = re.compile(rf"^[{_CJK}]+$")
# Chinese function characters and framing words that split a run of characters: "写着生日
# 快乐的横幅" asks for 生日快乐 (and a banner, which is visual).
_CJK_SPLIT = re.compile(r"写着|上面写|照片|图片|的|和|与|及|或")


def fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _is_cjk(term: str) -> bool:
    return bool(_CJK_RUN.match(term))


@dataclass(frozen=True)
class TextQuery:
    """The words a query asks of the text index, and whether it asks nothing else."""

    terms: tuple[str, ...]
    only_text: bool


def is_text_only(query: str) -> bool:
    """Whether `query` asks only the text in photos (starts with `TEXT_PREFIX`)."""
    return query.strip()[: len(TEXT_PREFIX)].casefold() == TEXT_PREFIX


def text_query(query: str) -> TextQuery:
    """`text:WORDS` (every word, even short ones) or the content words of a visual query
    (Latin words of 3 letters or more outside `_STOP_WORDS`, digits of 2 or more, Chinese
    runs split at function characters)."""
    stripped = query.strip()
    only = is_text_only(stripped)
    body = fold(stripped[len(TEXT_PREFIX) :] if only else stripped)
    terms: list[str] = []
    for token in _TOKEN.findall(body):
        if _is_cjk(token):
            terms.extend(p for p in _CJK_SPLIT.split(token) if p and (only or len(p) >= 2))
        elif only or (
            token not in _STOP_WORDS and (len(token) >= 3 or (token.isdigit() and len(token) >= 2))
        ):
            terms.append(token)
    return TextQuery(tuple(dict.fromkeys(terms)), only)


def search_form(lines: Sequence[TextLine]) -> str:
    """What the catalog indexes for a photo's lines: their text folded, one line each."""
    return "\n".join(fold(line.text) for line in lines)


def lines_json(lines: Sequence[TextLine]) -> str:
    return json.dumps(
        [
            {"text": line.text, "score": round(line.score, 3), "box": [list(p) for p in line.box]}
            for line in lines
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def lines_from_json(data: str) -> list[TextLine]:
    return [
        TextLine(
            str(d["text"]), float(d["score"]), tuple((float(x), float(y)) for x, y in d["box"])
        )
        for d in json.loads(data)
    ]


_LETTERS = rf"[^\W\d_{_CJK}]"


FUZZY_FROM = 6
"""Latin words of this many letters or more also match a word of the text one edit away
(a letter the recogniser dropped, added or misread: "restaunrant", "FESTIVAI", "Palice");
shorter ones would match other words (great/greet)."""


def _one_edit(a: str, b: str) -> bool:
    """Whether `a` and `b` differ by at most one inserted, deleted or replaced letter."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1 :] == b[i + 1 :]
    return a[i:] == b[i + 1 :]


def fuzzy(term: str) -> bool:
    return term.isalpha() and not _is_cjk(term) and len(term) >= FUZZY_FROM


def trigrams(term: str) -> list[str]:
    return [term[i : i + 3] for i in range(len(term) - 2)]


def contains(line: str, term: str) -> bool:
    """Chinese: anywhere. Latin: a whole word, where a change between letters and digits
    is a boundary too ("INVOICE2024" holds invoice and 2024); a word of four letters or
    more may go on by up to two letters (invoices, opened), a shorter one not (the is not
    found in "theatre"); one of `FUZZY_FROM` letters or more may be one edit away."""
    if _is_cjk(term):
        return term in line
    if term.isalpha():
        before, after = rf"(?<!{_LETTERS})", rf"{_LETTERS}{{0,2}}(?!{_LETTERS})"
        if len(term) < 4:
            after = rf"(?!{_LETTERS})"
    elif term.isdigit():
        before, after = r"(?<!\d)", r"(?!\d)"
    else:
        before, after = r"(?<![^\W_])", r"(?![^\W_])"
    if re.search(before + re.escape(term) + after, line) is not None:
        return True
    if fuzzy(term):
        return any(
            _one_edit(word, term) or (len(word) > len(term) and _one_edit(word[: len(term)], term))
            for word in re.findall(rf"{_LETTERS}+", line)
        )
    return False


def held(lines: Iterable[TextLine], terms: Sequence[str]) -> tuple[list[str], list[str]]:
    """Those of `terms` the lines hold, and the lines (their text) that hold one of them."""
    folded = [(line.text, fold(line.text)) for line in lines]
    found = [t for t in terms if any(contains(f, t) for _, f in folded)]
    return found, [text for text, f in folded if any(contains(f, t) for t in found)]
