"""The search engine: parse a query, embed it, find candidates, apply filters, score."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from mmsearch.catalog.db import NO_FILTERS, Filters, PhotoInfo
from mmsearch.encoders import fusion_parts
from mmsearch.index import exact_top_k
from mmsearch.index.backend import Answers, ServerAnswers
from mmsearch.media import PHOTO_EXTENSIONS, RAW_EXTENSIONS, DecodeError, decode_photo
from mmsearch.ocr import words
from mmsearch.services.library import Library
from mmsearch.services.places import PlaceGuess, guess_place, place_ids
from mmsearch.services.text import TextHit, find_text

#: Up to this many photos kept by a filter, they are scored exactly (their vectors read from
#: the catalog in one query, ~6 us a photo) rather than through the HNSW graph with a filter
#: (which slows as the filter narrows: 25 ms at 10 % of 100,000 photos, 96 ms at 1 %).
EXACT_LIMIT = 20_000

#: How many of the nearest photos of the whole library a filtered search checks against its
#: filters before it looks inside them (`SearchEngine._filtered`): at 10 % kept, the 1,000
#: nearest hold 20 kept ones for 46 of 50 queries, in ~6 ms at 100,000 photos.
PROBE = 1_000

#: How many of the best candidates of a text query the model's fusion head re-ranks, by
#: default (0: none). `search(rerank=...)`, the CLI's --rerank/--no-rerank and the window's
#: setting choose per query; models without a fusion head ignore it. Off: on Flickr8k the
#: default model's head re-ranking its top 50 scores 23.5 / 52.2 / 65.7 % text -> image
#: against 23.7 / 52.4 / 65.8 % without it, for ~15 ms a query (docs/models.md).
RERANK_TOP = 0

_OPERATOR = re.compile(r"\s+([+-])\s+")
_WEIGHT = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*:\s*(.+)$", re.DOTALL)


class QueryError(ValueError):
    """A query that can't be searched; the message says why."""


def _damaged_model(model_id: str) -> QueryError:
    return QueryError(
        f"the model {model_id} gave a query vector that is not finite: its files may be "
        "damaged; run `mmsearch doctor`"
    )


@dataclass(frozen=True)
class QueryPart:
    """One term of a query: text or a photo, with a signed weight."""

    weight: float
    text: str | None = None
    photo: Path | None = None


#: What a photo whose text holds every content word of a text query gains on its cosine:
#: more than any cosine, so photos showing the words come first, those that also look the
#: part first among them (a score above 1 says: found by its text). One that holds some of
#: the words gains PARTIAL_TEXT_BONUS x the share it holds: a nudge, not a jump, so that
#: "two kids on a beach" is not led by a sign reading BEACH. Measured in docs/photos.md
#: (benchmarks/ocr.py).
TEXT_BONUS = 1.0
PARTIAL_TEXT_BONUS = 0.1


@dataclass(frozen=True)
class SearchHit:
    photo: PhotoInfo
    score: float
    text: tuple[str, ...] = ()
    """The lines of the photo's text that hold the query's words (empty: none do)."""

    @property
    def path(self) -> Path:
        return self.photo.path


#: The largest weight a query part may have: beyond it one part is the whole query anyway,
#: and a weight like 1e400 would overflow to inf and give NaN scores.
MAX_WEIGHT = 1000.0


def _is_photo_path(term: str) -> bool:
    path = Path(term).expanduser()
    suffix = path.suffix.lower()
    return suffix in PHOTO_EXTENSIONS | RAW_EXTENSIONS and path.is_file()


def _looks_like_photo_path(term: str) -> bool:
    """A term that can only mean a photo file (`./ref.jpg`, `~/a/b.heic`, `IMG_1.JPG`)."""
    return " " not in term and Path(term).suffix.lower() in PHOTO_EXTENSIONS | RAW_EXTENSIONS


def parse_query(query: str) -> list[QueryPart]:
    """Split `beach + sunset - people`, `2:beach`, `./ref.jpg + snow` into weighted parts.

    Operators count only with spaces around them, so `black-and-white` stays one term.
    A term that names an existing photo file is a photo; anything else is text.
    """
    text = query.strip()
    if not text:
        raise QueryError("the query is empty: type what the photos should show")
    if text in "+-" or text[-2:] in (" +", " -"):
        raise QueryError(f"an operator in {query!r} has nothing after it")
    sign = 1.0
    if text[:2] in ("- ", "+ "):
        sign, text = (-1.0 if text[0] == "-" else 1.0), text[2:]
    pieces = _OPERATOR.split(text)
    signs = [sign] + [1.0 if op == "+" else -1.0 for op in pieces[1::2]]
    parts: list[QueryPart] = []
    for term, term_sign in zip(pieces[0::2], signs, strict=True):
        term = term.strip()
        weight = 1.0
        match = _WEIGHT.match(term)
        if match and not _is_photo_path(term):
            weight, term = float(match.group(1)), match.group(2).strip()
            if not abs(weight) <= MAX_WEIGHT:
                raise QueryError(
                    f"the weight {match.group(1)[:20]}{'...' if len(match.group(1)) > 20 else ''}"
                    f" of {term!r} is out of range: use a number from -{MAX_WEIGHT:g} to "
                    f"{MAX_WEIGHT:g}, e.g. 2:{term}"
                )
        if not term:
            raise QueryError(f"an operator in {query!r} has nothing on one side")
        if _is_photo_path(term):
            parts.append(QueryPart(term_sign * weight, photo=Path(term).expanduser().resolve()))
        elif _looks_like_photo_path(term):
            raise QueryError(
                f"there is no photo at {term} (a term ending in "
                f"{Path(term).suffix} is read as a photo): check the path"
            )
        else:
            parts.append(QueryPart(term_sign * weight, text=term))
    if all(p.weight <= 0 for p in parts):
        raise QueryError("the query only excludes things: add something to look for")
    return parts


@dataclass(frozen=True)
class _Kept:
    """The photos a filter keeps (and their vectors when few enough to score exactly), as
    the catalog was at `key`'s data version."""

    key: tuple[object, ...]
    ids: np.ndarray
    """In increasing order when `matrix` is None (`Catalog.filtered_ids` lists them so)."""
    matrix: np.ndarray | None


def _among_sorted(ids: np.ndarray, sorted_ids: np.ndarray) -> np.ndarray:
    """Which of `ids` are in `sorted_ids` (increasing): a binary search each, where
    `np.isin` sorts or tables all of `sorted_ids` (18 ms for 1,000 among 100,000)."""
    if not len(sorted_ids):
        return np.zeros(len(ids), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
    found: np.ndarray = sorted_ids[at] == ids
    return found


class SearchEngine:
    """Answers text, photo and combined queries over a library."""

    def __init__(self, library: Library, answer_from: Answers | None = None) -> None:
        """`answer_from`: what to search instead of the library's backend (the index's
        preview while the index opens: `Library.preview`)."""
        self.lib = library
        self.answer_from = answer_from
        self._kept: _Kept | None = None  # the last filter's photos (see `_filtered`)

    def photo_vector(self, path: Path) -> np.ndarray:
        """A photo's embedding: from the catalog if it is indexed, else computed now."""
        info = self.lib.catalog.photo_by_path(path)
        if info is not None:
            _, matrix = self.lib.catalog.vectors(self.lib.model_id, [info.id])
            if len(matrix):
                stored: np.ndarray = matrix[0]
                return stored
        model = self.lib.model
        try:
            decoded = decode_photo(path, min_side=model.spec.image.size)
        except DecodeError as e:
            raise QueryError(f"can't read the photo {path}: {e}") from e
        vector: np.ndarray = model.image.encode_images([decoded.image])[0]
        return vector

    def photo_features(self, path: Path) -> tuple[np.ndarray, np.ndarray | None]:
        """A photo's embedding and fusion regions ((R, D) float16, None when the model has no
        fusion head): from the catalog if it is indexed, else computed now."""
        model = self.lib.model
        fusion = model.spec.fusion
        info = self.lib.catalog.photo_by_path(path)
        if info is not None:
            _, matrix = self.lib.catalog.vectors(self.lib.model_id, [info.id])
            stored = self.lib.catalog.regions(self.lib.model_id, [info.id]).get(info.id)
            if len(matrix) and (fusion is None or stored is not None):
                regions = None
                if fusion is not None and stored is not None:
                    regions = stored.reshape(fusion.regions, fusion.region_dim)
                vector: np.ndarray = matrix[0]
                return vector, regions
        try:
            decoded = decode_photo(path, min_side=model.spec.image.size)
        except DecodeError as e:
            raise QueryError(f"can't read the photo {path}: {e}") from e
        vectors, computed = model.image.encode_with_regions(
            model.image.preprocess(decoded.image)[None]
        )
        return vectors[0], None if computed is None else computed[0]

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """The query texts' vectors; a tower that takes the text's language (NLLB's) is told
        each query's, as its script says (`query_languages`; English when it says nothing)."""
        encoder = self.lib.model.text
        if not encoder.takes_language:
            return encoder.encode(texts)
        from mmsearch.encoders.languages import query_languages

        rows = []
        for text in texts:
            found = [lang for lang in query_languages(text) if lang != "latin"]
            rows.append(encoder.encode([text], language=found[0] if found else "en")[0])
        return np.stack(rows)

    def embed(self, parts: list[QueryPart]) -> np.ndarray:
        """One unit vector for a weighted sum of parts."""
        texts = [p.text for p in parts if p.text is not None]
        text_vectors = iter(self.encode_texts(texts)) if texts else iter(())
        total = np.zeros(self.lib.model.spec.dim, dtype=np.float32)
        for part in parts:
            vector = next(text_vectors) if part.text is not None else None
            if part.photo is not None:
                vector = self.photo_vector(part.photo)
            assert vector is not None
            if not np.isfinite(vector).all():
                raise _damaged_model(self.lib.model_id)
            total += part.weight * vector
        if not np.isfinite(total).all():
            raise QueryError("a weight in the query is too large: use weights like 2 or 0.5")
        norm = float(np.linalg.norm(total))
        if norm < 1e-6:
            raise QueryError("the parts of the query cancel each other out")
        return total / norm

    def search(
        self,
        query: str | np.ndarray,
        top: int = 20,
        filters: Filters = NO_FILTERS,
        exclude: set[int] | None = None,
        rerank: int | None = None,
    ) -> list[SearchHit]:
        """The `top` best photos for a query string (see `parse_query`) or a query vector,
        among those `filters` keep.

        When the model has a fusion head and the query is one text, its `rerank` best
        candidates (default `RERANK_TOP`; 0 turns it off) are re-ranked by the fusion score.
        """
        rerank = RERANK_TOP if rerank is None else max(0, rerank)
        fusion_query: tuple[np.ndarray, np.ndarray] | None = None
        text_hits: dict[int, TextHit] = {}
        if isinstance(query, str):
            asked = words.text_query(query)
            if asked.only_text:
                return self._text_only(asked.terms, top, filters, exclude)
            parts = parse_query(query)
            if all(p.text is not None for p in parts):
                wanted = " ".join(p.text or "" for p in parts if p.weight > 0)
                text_hits = find_text(self.lib, words.text_query(wanted).terms, every=False)
            fused = fusion_parts(self.lib.model) if rerank else None
            text = self._fusion_text(parts) if fused is not None else None
            if fused is not None and text is not None:
                vectors, tokens, mask = fused[1].encode_with_tokens([text])
                vector, fusion_query = vectors[0], (tokens[0], mask[0])
            else:
                vector = self.embed(parts)
        else:
            vector = query
        if not np.isfinite(vector).all():
            raise _damaged_model(self.lib.model_id)
        exclude = exclude or set()
        want = max(top, rerank if fusion_query is not None else 0) + len(exclude)
        catalog, model_id = self.lib.catalog, self.lib.model_id
        filtered = bool(filters)
        backend = self.backend()
        if backend.exact:  # all vectors on the GPU: exact, a filter is a mask there
            allowed_ids = catalog.filtered_ids(model_id, filters) if filtered else None
            ids, scores = backend.query(vector, want, allowed_ids)
        elif filtered and isinstance(backend, ServerAnswers) and filters.kind is None:
            ids, scores = backend.query_filtered(vector, want, filters)  # on the server
        elif filtered:
            ids, scores = self._filtered(backend, vector, want, filters)
        else:
            # HNSW, however small the library: ef=384 visits nearly all of a small one, and
            # reading every vector from the catalog for each query cost more than it won.
            ids, scores = backend.query(vector, want)
        infos = catalog.photos(ids.tolist())
        hits = [
            SearchHit(infos[int(i)], float(s))
            for i, s in zip(ids, scores, strict=True)
            # a damaged vector an older version stored scores NaN: never show it
            if int(i) in infos and int(i) not in exclude and np.isfinite(s)
        ]
        if fusion_query is not None:
            hits = self._rerank(hits, rerank, *fusion_query)
        if text_hits:
            hits = self._with_text(hits, text_hits, vector, filters, exclude)
        return hits[:top]

    def _filtered(
        self, backend: Answers, vector: np.ndarray, want: int, filters: Filters
    ) -> tuple[np.ndarray, np.ndarray]:
        """The `want` best photos that `filters` keep, on the CPU.

        First the PROBE nearest photos of the whole library, each checked against the
        filters: when `want` of them pass, those are the answer (a kept photo that scored
        higher would be among the nearest). That costs the same whatever the filters keep.
        Otherwise (a narrow filter, or one far from the query) the kept photos are listed:
        up to EXACT_LIMIT of them are scored exactly, more through the graph with the
        filter. The list (and the few's vectors) is kept for the next query with the same
        filters until the catalog changes (`Catalog.data_version`): a user who chose a
        folder or dates types query after query in it. While it is kept, the nearest
        photos are checked against it instead of the catalog."""
        catalog, model_id = self.lib.catalog, self.lib.model_id
        key = (model_id, filters, catalog.data_version())
        kept = self._kept if self._kept is not None and self._kept.key == key else None
        if kept is not None and kept.matrix is not None:
            return exact_top_k(kept.ids, kept.matrix, vector, want)
        probe = max(PROBE, 4 * want)
        near, near_scores = backend.query(vector, probe)
        # Listed already: checked in memory (1,000 candidates against 100,000 ids in well
        # under a millisecond; asking the catalog costs 2-3 ms, a server 6.5 at 1M photos).
        if kept is not None:
            passed = _among_sorted(near, kept.ids)
        else:
            passed = np.isin(near, catalog.kept(near, filters))
        if passed.sum() >= want or len(near) < probe:  # enough, or the whole library seen
            return near[passed][:want], near_scores[passed][:want]
        if kept is None:
            kept = self._kept = self._list_kept(key, filters)
        if kept.matrix is not None:
            return exact_top_k(kept.ids, kept.matrix, vector, want)
        return backend.query(vector, want, kept.ids)

    def _list_kept(self, key: tuple[object, ...], filters: Filters) -> _Kept:
        catalog = self.lib.catalog
        allowed = catalog.filtered_ids(None, filters)  # the index holds only embedded photos
        if len(allowed) > EXACT_LIMIT:
            return _Kept(key, allowed, None)
        ids, matrix = catalog.filtered_vectors(self.lib.model_id, filters, kept=allowed)
        return _Kept(key, ids, matrix)

    def browse(
        self, filters: Filters = NO_FILTERS, top: int = 20, exclude: set[int] | None = None
    ) -> list[SearchHit]:
        """The photos `filters` keep, newest first (undated last), scored 0: what a query
        that only names a place ("Lisbon") shows."""
        ids = [
            i
            for i in self.lib.catalog.filtered_ids(self.lib.model_id, filters).tolist()
            if i not in (exclude or set())
        ]
        infos = self.lib.catalog.photos(ids)
        ordered = sorted(
            infos.values(), key=lambda p: (p.taken_at is not None, p.taken_at or 0), reverse=True
        )
        return [SearchHit(p, 0.0) for p in ordered[:top]]

    def _with_text(
        self,
        hits: list[SearchHit],
        text_hits: dict[int, TextHit],
        vector: np.ndarray,
        filters: Filters,
        exclude: set[int],
    ) -> list[SearchHit]:
        """The visual hits merged with the photos whose text holds the query's words: those
        score their cosine + TEXT_BONUS (all the words) or PARTIAL_TEXT_BONUS x the share
        of the words found."""
        scored = {h.photo.id: h for h in hits}
        ids = self.lib.catalog.kept(sorted(set(text_hits) - exclude), filters).tolist()
        if not ids:  # every photo with the words is outside the filters
            return hits
        have, matrix = self.lib.catalog.vectors(self.lib.model_id, ids)
        cosines = dict(zip(have.tolist(), (matrix @ vector).tolist(), strict=True))
        missing = [i for i in have.tolist() if i not in scored]
        infos = self.lib.catalog.photos(missing)
        for photo_id, cosine in cosines.items():
            base = scored.get(photo_id)
            if base is None:
                if photo_id not in infos or not np.isfinite(cosine):
                    continue
                base = SearchHit(infos[photo_id], float(cosine))
            found = text_hits[photo_id]
            bonus = TEXT_BONUS if found.found >= 1.0 else PARTIAL_TEXT_BONUS * found.found
            scored[photo_id] = SearchHit(base.photo, base.score + bonus, tuple(found.lines))
        return sorted(scored.values(), key=lambda h: -h.score)

    def _text_only(
        self,
        terms: tuple[str, ...],
        top: int,
        filters: Filters,
        exclude: set[int] | None,
    ) -> list[SearchHit]:
        """`text:WORDS`: only photos whose text holds every word, those that also look
        like the words first (the words' cosine; a sign reading PIZZA over a menu)."""
        if not terms:
            raise QueryError("type the words to find after text:, e.g. text:invoice")
        found = find_text(self.lib, terms)
        if not found:
            return []
        vector = self.embed([QueryPart(1.0, text=" ".join(terms))])
        return self._with_text([], found, vector, filters, exclude or set())[:top]

    def backend(self) -> Answers:
        """What answers queries: exact on the GPU when there is one, else the HNSW index
        (see `mmsearch.index.backend`); `answer_from` when given."""
        return self.answer_from if self.answer_from is not None else self.lib.backend()

    def _fusion_text(self, parts: list[QueryPart]) -> str | None:
        """The text the fusion head can score: only a query of one text term (a photo, or
        several weighted terms, have no single text to match regions against)."""
        if len(parts) != 1:
            return None
        part = parts[0]
        return part.text if part.text is not None and part.weight > 0 else None

    def _rerank(
        self, hits: list[SearchHit], count: int, tokens: np.ndarray, mask: np.ndarray
    ) -> list[SearchHit]:
        """Re-order the first `count` hits by cosine + weight x fusion logit."""
        fused = fusion_parts(self.lib.model)
        spec = self.lib.model.spec.fusion
        assert fused is not None and spec is not None
        fusion = fused[0]
        head, tail = hits[:count], hits[count:]
        stored = self.lib.catalog.regions(self.lib.model_id, [h.photo.id for h in head])
        scorable = [h for h in head if h.photo.id in stored]
        # Photos catalogued without regions (none, unless the catalog was written by an older
        # mmsearch) keep their cosine order after the re-ranked ones.
        unscored = [h for h in head if h.photo.id not in stored]
        if not scorable:
            return hits
        regions = np.stack(
            [stored[h.photo.id].reshape(spec.regions, spec.region_dim) for h in scorable]
        )
        logits = fusion.text_against_photos(tokens, mask, regions)
        scores = fusion.combine([h.score for h in scorable], logits)
        order = np.argsort(-scores, kind="stable")
        reranked = [SearchHit(scorable[i].photo, float(scores[i])) for i in order]
        return reranked + unscored + tail

    def similar(self, path: Path, top: int = 20, filters: Filters = NO_FILTERS) -> list[SearchHit]:
        """Photos that look like the photo at `path` (itself excluded if indexed)."""
        info = self.lib.catalog.photo_by_path(path)
        return self.search(
            self.photo_vector(path), top, filters, exclude={info.id} if info is not None else None
        )

    def search_guessed(
        self,
        guess: PlaceGuess,
        top: int = 20,
        filters: Filters = NO_FILTERS,
        rerank: int | None = None,
    ) -> list[SearchHit]:
        """A query whose place `read_place` recognised: the rest of it among the photos
        taken there, or all of those, newest first, when it named only the place."""
        there = replace(filters, places=guess.ids)
        if not guess.rest:
            return self.browse(there, top)
        return self.search(guess.rest, top, there, rerank=rerank)

    def read_place(self, query: str) -> PlaceGuess | None:
        """The place a plain text query names ("beach in Lisbon"), or None; the caller
        searches `guess.rest` with the place's ids as a filter, and says so."""
        if not query.strip() or words.is_text_only(query) or _OPERATOR.search(query):
            return None
        if _looks_like_photo_path(query.strip()):
            return None
        return guess_place(self.lib, query)

    def place_ids(self, name: str) -> tuple[int, ...]:
        """The library's places `name` names (`--place`, see `services.places`)."""
        return place_ids(self.lib, name)
