"""Retrieval quality on a captioned photo set: text-to-image and image-to-text Recall@K."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mmsearch.encoders import FusionHead, Model, fusion_parts
from mmsearch.media import DecodeError, decode_photo
from mmsearch.services.workers import bounded_map

KS = (1, 5, 10)


class EvalError(ValueError):
    """The captions file can't be evaluated; the message names the file and the problem."""


@dataclass(frozen=True)
class CaptionSet:
    images: list[Path]
    captions: list[str]
    caption_image: np.ndarray  # index into `images` for each caption


def load_captions(captions_file: Path, images_root: Path | None = None) -> CaptionSet:
    """Read a JSONL file of {"image": path, "caption": text} lines (paths relative to
    `images_root`, by default the file's folder)."""
    root = images_root or captions_file.parent
    images: dict[Path, int] = {}
    captions: list[str] = []
    owners: list[int] = []
    try:
        lines = captions_file.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise EvalError(f"can't read {captions_file}: {e.strerror}") from e
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            image, caption = root / row["image"], str(row["caption"])
        except (ValueError, KeyError, TypeError) as e:
            raise EvalError(
                f'{captions_file}:{number}: expected {{"image": ..., "caption": ...}} ({e})'
            ) from e
        owners.append(images.setdefault(image, len(images)))
        captions.append(caption)
    if not captions:
        raise EvalError(f"{captions_file} holds no captions")
    return CaptionSet(list(images), captions, np.asarray(owners, dtype=np.int64))


def embed_photos(
    model: Model,
    paths: list[Path],
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = 32,
) -> np.ndarray:
    """Embeddings of the photos at `paths`, in order (decoding in parallel, encoding in
    batches). Raises EvalError naming the first photo that can't be read."""
    return embed_photos_with_regions(model, paths, progress, batch_size)[0]


def embed_photos_with_regions(
    model: Model,
    paths: list[Path],
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = 32,
) -> tuple[np.ndarray, np.ndarray | None]:
    """`embed_photos`, plus the photos' fusion regions (N, R, D) float16 when the model has
    a fusion head (else None), as the indexer stores them."""
    size = model.spec.image.size
    fusion = model.spec.fusion

    def read(item: tuple[int, Path]) -> tuple[int, np.ndarray]:
        i, path = item
        try:
            return i, model.image.preprocess(decode_photo(path, min_side=size).image)
        except DecodeError as e:
            raise EvalError(f"can't read {path}: {e}") from e

    out = np.zeros((len(paths), model.spec.dim), dtype=np.float32)
    regions = None
    if fusion is not None:
        regions = np.zeros((len(paths), fusion.regions, fusion.region_dim), dtype=np.float16)
    batch: list[tuple[int, np.ndarray]] = []
    done = 0

    def flush() -> None:
        nonlocal done
        rows = [i for i, _ in batch]
        vectors, batch_regions = model.image.encode_with_regions(np.stack([p for _, p in batch]))
        out[rows] = vectors
        if regions is not None and batch_regions is not None:
            regions[rows] = batch_regions
        done += len(batch)
        batch.clear()
        if progress:
            progress(done, len(paths))

    for item in bounded_map(read, list(enumerate(paths))):
        batch.append(item)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return out, regions


def recalls(
    similarity: np.ndarray, relevant: Callable[[int, np.ndarray], np.ndarray]
) -> dict[str, float]:
    """Recall@K for each row of `similarity` (queries x items); `relevant(row, top)` marks
    which of the top items are right."""
    top = np.argsort(-similarity, axis=1, kind="stable")[:, : max(KS)]
    hits = np.stack([relevant(r, top[r]) for r in range(len(top))])
    return {f"R@{k}": float(hits[:, :k].any(axis=1).mean()) for k in KS}


def retrieval_recalls(
    similarity: np.ndarray, caption_image: np.ndarray
) -> tuple[dict[str, float], dict[str, float]]:
    """(text -> image, image -> text) Recall@K of a captions x photos `similarity`, where
    `caption_image[c]` is caption c's photo."""
    t2i = recalls(similarity, lambda r, top: top == caption_image[r])
    i2t = recalls(similarity.T, lambda r, top: caption_image[top] == r)
    return t2i, i2t


def embed_captions(model: Model, captions: list[str]) -> np.ndarray:
    """The dual encoder's (N, dim) vectors of `captions`, in batches of 256."""
    return np.concatenate(
        [model.text.encode(captions[i : i + 256]) for i in range(0, len(captions), 256)]
    )


class _PairScorer:
    """Fusion logits of (photo, caption) pairs of an evaluation set, in batches."""

    def __init__(self, fusion: FusionHead, regions: np.ndarray, tokens: list[np.ndarray]) -> None:
        self.fusion = fusion
        self.regions = regions
        self.tokens = tokens  # each caption's (L_i, D) token features, unpadded

    def __call__(self, photos: np.ndarray, captions: np.ndarray) -> np.ndarray:
        out = np.zeros(len(photos), dtype=np.float32)
        for start in range(0, len(photos), _PAIR_BATCH):
            p, c = photos[start : start + _PAIR_BATCH], captions[start : start + _PAIR_BATCH]
            width = max(len(self.tokens[i]) for i in c)
            dim = self.tokens[c[0]].shape[1]
            tokens = np.zeros((len(c), width, dim), dtype=np.float32)
            mask = np.zeros((len(c), width), dtype=np.int64)
            for k, i in enumerate(c):
                tokens[k, : len(self.tokens[i])] = self.tokens[i]
                mask[k, : len(self.tokens[i])] = 1
            out[start : start + len(p)] = self.fusion.score(self.regions[p], tokens, mask)
        return out


_PAIR_BATCH = 512


def _rerank(
    sim: np.ndarray,
    count: int,
    score: Callable[[np.ndarray, np.ndarray], np.ndarray],
    weight: float,
) -> np.ndarray:
    """`sim` (queries x items) with each row's `count` best items re-scored as cosine +
    weight x fusion logit and moved ahead of the rest. `score(rows, cols)` gives logits."""
    top = np.argsort(-sim, axis=1, kind="stable")[:, :count]
    rows = np.repeat(np.arange(len(sim)), top.shape[1])
    logits = score(rows, top.reshape(-1)).reshape(top.shape)
    out = sim - 1e3  # re-ranked items come first, in their fused order
    np.put_along_axis(out, top, np.take_along_axis(sim, top, axis=1) + weight * logits, axis=1)
    return out


RANKING_DISTRACTORS = 20


def ranking_lists(
    caption_image: np.ndarray, distractors: int = RANKING_DISTRACTORS, seed: int = 0
) -> list[tuple[np.ndarray, int]]:
    """For each photo, (candidate captions, how many of them are its own): its own captions
    first, then `distractors` captions of other photos drawn with `seed`."""
    rng = np.random.default_rng(seed)
    lists = []
    for photo in range(int(caption_image.max()) + 1):
        own = np.flatnonzero(caption_image == photo)
        others = np.flatnonzero(caption_image != photo)
        lists.append(
            (np.concatenate([own, rng.choice(others, distractors, replace=False)]), len(own))
        )
    return lists


def caption_ranking(scores: np.ndarray, lists: list[tuple[np.ndarray, int]]) -> dict[str, float]:
    """Recall@1 (an own caption comes first) and MRR (of the first own caption) of each
    photo's candidate `lists` ranked by `scores` (captions x photos)."""
    firsts = []
    for photo, (candidates, own) in enumerate(lists):
        order = np.argsort(-scores[candidates, photo], kind="stable")
        firsts.append(int(np.flatnonzero(order < own)[0]))
    ranks = np.asarray(firsts) + 1
    return {"R@1": float((ranks == 1).mean()), "MRR": float((1.0 / ranks).mean())}


def evaluate(
    model: Model,
    captions_file: Path,
    images_root: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    *,
    rerank: int = 0,
    ranking: bool = False,
) -> dict[str, object]:
    """Text-to-image and image-to-text Recall@1/5/10 of `model` on a captioned set.

    With `rerank` > 0 and a model with a fusion head, "t2i" and "i2t" are measured after the
    fusion head re-ranks each query's `rerank` best candidates, as search does, and the
    dual encoder's own figures are kept as "t2i_dual" and "i2t_dual". With `ranking`, also
    caption ranking ("caption_ranking": {"dual": ..., "fused": ...}; each photo's own captions
    among 20 captions of other photos, see `ranking_lists`).
    """
    data = load_captions(captions_file, images_root)
    fused = fusion_parts(model) if rerank > 0 or ranking else None
    image_vectors, regions = embed_photos_with_regions(model, data.images, progress)
    tokens: list[np.ndarray] = []
    if fused is not None:
        parts = []
        for i in range(0, len(data.captions), 64):
            vectors, chunk_tokens, mask = fused[1].encode_with_tokens(data.captions[i : i + 64])
            parts.append(vectors)
            tokens += [t[m > 0] for t, m in zip(chunk_tokens, mask, strict=True)]
        text_vectors = np.concatenate(parts)
    else:
        text_vectors = embed_captions(model, data.captions)
    sim = text_vectors @ image_vectors.T
    result: dict[str, object] = {"images": len(data.images), "captions": len(data.captions)}
    t2i, i2t = retrieval_recalls(sim, data.caption_image)
    result |= {"t2i": t2i, "i2t": i2t}
    if fused is None:
        if ranking:
            lists = ranking_lists(data.caption_image)
            result["caption_ranking"] = {"dual": caption_ranking(sim, lists)}
        return result
    assert regions is not None and model.spec.fusion is not None
    weight = model.spec.fusion.weight
    score = _PairScorer(fused[0], regions, tokens)
    if rerank > 0:
        count = min(rerank, sim.shape[1])
        fused_t2i = _rerank(sim, count, lambda r, c: score(c, r), weight)
        fused_i2t = _rerank(sim.T, min(rerank, sim.shape[0]), score, weight)
        result |= {
            "rerank": rerank,
            "t2i_dual": t2i,
            "i2t_dual": i2t,
            "t2i": recalls(fused_t2i, lambda r, top: top == data.caption_image[r]),
            "i2t": recalls(fused_i2t, lambda r, top: data.caption_image[top] == r),
        }
    if ranking:
        result["caption_ranking"] = _fused_caption_ranking(sim, data.caption_image, score, weight)
    return result


def _fused_caption_ranking(
    sim: np.ndarray,
    caption_image: np.ndarray,
    score: Callable[[np.ndarray, np.ndarray], np.ndarray],
    weight: float,
) -> dict[str, dict[str, float]]:
    """`caption_ranking` by cosine and by cosine + weight x fusion logit, on the same lists
    (only the pairs the lists hold go through the fusion head)."""
    lists = ranking_lists(caption_image)
    c = np.concatenate([candidates for candidates, _ in lists])
    p = np.concatenate([np.full(len(candidates), i) for i, (candidates, _) in enumerate(lists)])
    fused = np.full_like(sim, -np.inf)
    fused[c, p] = sim[c, p] + weight * score(p, c)
    return {"dual": caption_ranking(sim, lists), "fused": caption_ranking(fused, lists)}
