"""Chinese training data for the default model's text side (issue 15), and the first
approach tried: a separate small Chinese text tower (kept as the ablation's baseline; the
shipped approach, MiniLM's vocabulary extended, is `models.matching.chinese`).

The data, shared by both: the trainset's English and Chinese captions in token ids, with
the frozen default model's vectors as targets:

- the photo vectors its image graph gives (what users' libraries already hold), for a
  symmetric InfoNCE between each photo and one of its Chinese captions;
- distillation targets: each machine translation (Baidu `zhb`, Google `zhg`, matched to the
  English caption by `caption_idx`) is pulled to the English tower's vector of that caption;
  a caption written in Chinese (`zhc`) to the mean of the photo's English caption vectors.

The 1,000 photos held out by the default model's training (seed 0) are held out here too:
validation Recall@K on their written-in-Chinese captions every epoch, early stopping.
`aligned_states` starts a CJK character where the English word pieces it translates to are
(positive PMI over translated caption pairs).

The baseline tower: text -> BERT-style normalisation (lower case, each CJK character a word)
-> WordPiece over the training captions' English word pieces and CJK characters -> token
embeddings (384-d) -> the default model's text head architecture (bidirectional GRU, mean
pooling), initialised from the trained English head -> unit embedding.

    python -m models.matching.zh --trainset ../shared/trainset --out build/train/zh \
        --set init=align
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from mmsearch.encoders.languages import is_ideograph
from mmsearch.services.evaluation import recalls
from models.matching.model import MatchingConfig, TextHead, contrastive_loss

Log = Callable[[str], None]
PAD, UNK = "[PAD]", "[UNK]"
WEIGHTS_NAME = "zh-text.safetensors"


@dataclass
class ZhConfig:
    """The Chinese tower's training knobs; saved in its weights' metadata."""

    seed: int = 0
    val_photos: int = 1000  # the default model's own held-out photos (same seed, same split)
    teacher_photos: int = 7259  # the photos the default model's training split (see load_data)
    epochs: int = 30
    patience: int = 4
    batch_photos: int = 512
    lr: float = 2e-3
    weight_decay: float = 0.01
    dropout: float = 0.1
    contrast_weight: float = 1.0  # InfoNCE against the photo vectors
    distill_weight: float = 1.0  # cosine distance to the English tower's vector
    english_weight: float = 0.5  # English captions too (mixed queries), relative weight
    kinds: str = "zhc,zhb,zhg"  # which Chinese captions train
    init: str = "minilm"  # token embeddings from MiniLM's single-token states, or "random"
    head_init: str = "teacher"  # the text head from the English model's, or "random"
    context_length: int = 64


# -- the tokenizer -------------------------------------------------------------------------


def build_vocab(english: Sequence[str], chinese: Sequence[str], base: Any) -> list[str]:
    """[PAD], [UNK], then every single letter and digit (and its ## form, so that any Latin
    word can be spelt), the word pieces MiniLM's tokenizer makes of the English captions,
    and the CJK characters of the Chinese ones: most frequent first."""
    singles = [c for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
    vocab = [PAD, UNK, *singles, *(f"##{c}" for c in singles)]
    pieces: Counter[str] = Counter()
    for enc in base.encode_batch(list(english), add_special_tokens=False):
        pieces.update(enc.tokens)
    chars: Counter[str] = Counter(c for text in chinese for c in text if is_ideograph(c))
    seen = set(vocab)
    for token, _ in [*pieces.most_common(), *chars.most_common()]:
        if token not in seen and token != UNK:
            seen.add(token)
            vocab.append(token)
    return vocab


def make_tokenizer(vocab: Sequence[str]) -> Any:
    """The `tokenizers` tokenizer of `vocab` (lower-casing, accents stripped, CJK characters
    split apart, greedy WordPiece; no special tokens added). Padding is the runtime's."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    tokenizer = Tokenizer(
        models.WordPiece(
            {t: i for i, t in enumerate(vocab)}, unk_token=UNK, max_input_chars_per_word=100
        )
    )
    tokenizer.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=True, lowercase=True
    )
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return tokenizer


def encode_texts(
    tokenizer: Any, texts: Sequence[str], context: int, special: bool = False
) -> list[np.ndarray]:
    """Token ids of each text, cut to `context` (an empty text gets one [UNK]); `special`:
    with the tokenizer's own [CLS]/[SEP] (MiniLM's)."""
    out = []
    for enc in tokenizer.encode_batch(list(texts), add_special_tokens=special):
        ids = np.asarray(enc.ids[:context] or [1], dtype=np.int64)
        out.append(ids)
    return out


def pad_batch(rows: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = np.zeros((len(rows), width), dtype=np.int64)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = r
    ids_t = torch.from_numpy(ids)
    return ids_t, (ids_t != 0).to(torch.int64)


# -- the tower -----------------------------------------------------------------------------


class ZhText(nn.Module):
    """(input_ids, attention_mask) -> unit embeddings: token embeddings, then a text head of
    the default model's architecture."""

    def __init__(self, vocab_size: int, head_config: MatchingConfig) -> None:
        super().__init__()
        self.head_config = head_config
        self.embed = nn.Embedding(vocab_size, 384, padding_idx=0)
        self.head = TextHead(head_config)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.head.embed(self.embed(input_ids), attention_mask)
        return out


def minilm_token_states(vocab: Sequence[str]) -> torch.Tensor:
    """(V, 384): MiniLM's last-layer state of each token alone (`[CLS] token [SEP]`); rows of
    tokens MiniLM doesn't have are NaN."""
    from models.common import load_bert, load_tokenizer

    base = load_tokenizer()
    bert = load_bert()
    ids = [base.token_to_id(t) for t in vocab]
    cls, sep = base.token_to_id("[CLS]"), base.token_to_id("[SEP]")
    out = torch.full((len(vocab), 384), float("nan"))
    known = [i for i, t in enumerate(ids) if t is not None and vocab[i] not in (PAD, UNK)]
    with torch.no_grad():
        for start in range(0, len(known), 512):
            rows = known[start : start + 512]
            batch = torch.tensor([[cls, ids[i], sep] for i in rows])
            states = bert(input_ids=batch, attention_mask=torch.ones_like(batch)).last_hidden_state
            out[rows] = states[:, 1]
    return out


def aligned_states(
    vocab: Sequence[str], pairs: Sequence[tuple[np.ndarray, np.ndarray]], states: torch.Tensor
) -> dict[int, torch.Tensor]:
    """{CJK token row: start vector}: the mean of MiniLM's states of the English word pieces
    it co-occurs with in (Chinese ids, English ids) translation pairs, weighted by count x
    positive PMI (pieces seen 3 times with it at least; its 8 best)."""
    from scipy import sparse  # type: ignore[import-untyped]

    size = len(vocab)
    cjk = np.asarray([is_ideograph(t[0]) if t and len(t) == 1 else False for t in vocab])
    rows, cols = [], []
    for zh_ids, en_ids in pairs:
        z = np.unique(zh_ids[cjk[zh_ids]])
        e = np.unique(en_ids[~cjk[en_ids]])
        rows.append(np.repeat(z, len(e)))
        cols.append(np.tile(e, len(z)))
    if not rows:
        return {}
    r, c = np.concatenate(rows), np.concatenate(cols)
    counts = sparse.coo_matrix((np.ones(len(r)), (r, c)), shape=(size, size)).tocsr()
    zh_total = np.asarray(counts.sum(axis=1)).ravel()
    en_total = np.asarray(counts.sum(axis=0)).ravel()
    grand = float(zh_total.sum())
    known = ~torch.isnan(states[:, 0])
    out: dict[int, torch.Tensor] = {}
    for row in np.flatnonzero(cjk & (zh_total > 0)):
        line = counts.getrow(row)
        pieces, n = line.indices, line.data
        ok = (n >= 3) & known.numpy()[pieces]
        if not ok.any():
            continue
        pieces, n = pieces[ok], n[ok]
        pmi = np.log(n * grand / (zh_total[row] * en_total[pieces]))
        weight = n * np.clip(pmi, 0, None)
        best = np.argsort(-weight)[:8]
        best = best[weight[best] > 0]
        if len(best):
            w = torch.from_numpy(weight[best] / weight[best].sum()).to(torch.float32)
            out[int(row)] = (w[:, None] * states[torch.from_numpy(pieces[best])]).sum(dim=0)
    return out


def new_tower(
    vocab: Sequence[str],
    config: ZhConfig,
    teacher: Any,
    seed: int,
    pairs: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
) -> tuple[ZhText, int]:
    """The tower before training, and how many token rows came from MiniLM."""
    torch.manual_seed(seed)
    head_config = replace(teacher.config, dropout=config.dropout)
    tower = ZhText(len(vocab), head_config)
    from_minilm = 0
    if config.init in ("minilm", "align"):
        states = minilm_token_states(vocab)
        known = ~torch.isnan(states[:, 0])
        std = float(states[known].std())
        with torch.no_grad():
            tower.embed.weight.normal_(0.0, std)
            tower.embed.weight[known] = states[known]
            tower.embed.weight[0] = 0.0
            from_minilm = int(known.sum())
            if config.init == "align":
                # A CJK character starts where the English word pieces it translates to
                # are (positive PMI over translated caption pairs); others keep MiniLM's
                # state or start at random.
                aligned = aligned_states(vocab, pairs or [], states)
                for row, vector in aligned.items():
                    tower.embed.weight[row] = vector
                from_minilm += len(aligned)
    if config.head_init == "teacher":
        tower.head.load_state_dict(teacher.model.text.state_dict())
    return tower, from_minilm


# -- the data ------------------------------------------------------------------------------


@dataclass
class Data:
    """Training data in ids, with the frozen default model's vectors as targets."""

    photo_vectors: np.ndarray  # (P, 384) the default model's photo vectors
    en_ids: list[np.ndarray]
    en_photo: np.ndarray  # (E,) photo of each English caption
    en_vectors: np.ndarray  # (E, 384) the English tower's vectors
    zh_ids: list[np.ndarray]
    zh_photo: np.ndarray
    zh_kind: list[str]
    zh_target: np.ndarray  # (Z, 384) distillation target of each Chinese caption
    zh_english: np.ndarray  # (Z,) the English caption a translation translates (-1: none)
    train_photos: np.ndarray
    val_photos: np.ndarray


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def teacher_vectors(
    model_dir: Path, photos: list[Path], captions: list[str], cache: Path, log: Log
) -> tuple[np.ndarray, np.ndarray]:
    """The default model's vectors of `photos` and `captions` (its ONNX graphs, as the app
    runs them), cached by the model's version and the inputs."""
    from mmsearch.encoders.model import load_model
    from mmsearch.services.evaluation import embed_photos

    model = load_model(model_dir)
    digest = hashlib.sha256(model.spec.version.encode())
    for p in photos:
        digest.update(str(p).encode())
    for c in captions:
        digest.update(c.encode())
    path = cache / f"teacher-{digest.hexdigest()[:16]}.npz"
    if path.is_file():
        with np.load(path) as saved:
            return saved["photos"], saved["captions"]
    started = time.time()
    log(f"the default model's vectors of {len(photos)} photos and {len(captions)} captions...")
    images = embed_photos(model, photos)
    texts = model.text.encode(captions)
    cache.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.npz")
    np.savez(partial, photos=images, captions=texts)
    partial.replace(path)
    log(f"  done in {time.time() - started:.0f} s")
    return images, texts


class DataSettings(Protocol):
    """What `load_data` reads of a recipe's config (ZhConfig and chinese.CjkConfig both)."""

    seed: int
    val_photos: int
    teacher_photos: int
    kinds: str
    context_length: int


def load_data(
    trainset: Path,
    model_dir: Path,
    tokenizer: Any,
    config: DataSettings,
    cache: Path,
    log: Log,
    special: bool = False,
) -> Data:
    from models.matching.data import load_jsonl, split_by_photo

    english = load_jsonl(trainset / "captions.jsonl")
    photo_index = {p.stem: i for i, p in enumerate(english.photos)}
    # The default model's split: its training saw the first 7,259 photos (the trainset's
    # later MS-COCO photos came after it), 1,000 of them held out by `split_by_photo` with
    # its seed. Those stay held out here; the later photos train (no model has seen them).
    seen = english.subset(np.arange(config.teacher_photos))
    order = np.random.default_rng(config.seed).permutation(config.teacher_photos)
    val = np.sort(order[: config.val_photos])
    _, check_val = split_by_photo(seen, config.val_photos, config.seed)
    assert [english.photos[i] for i in val] == check_val.photos
    train = np.setdiff1d(np.arange(len(english.photos)), val)

    rows = _read_jsonl(trainset / "captions.jsonl")
    en_key = {(r["image_id"], int(r["caption_idx"])): i for i, r in enumerate(rows)}
    kinds = set(config.kinds.split(","))
    zh_rows = [r for r in _read_jsonl(trainset / "captions-zh.jsonl") if r["kind"] in kinds]
    photo_vectors, en_vectors = teacher_vectors(
        model_dir, english.photos, english.captions, cache, log
    )
    en_photo = np.asarray(english.caption_photo)
    mean = np.zeros_like(photo_vectors)
    np.add.at(mean, en_photo, en_vectors)
    mean /= np.linalg.norm(mean, axis=1, keepdims=True).clip(1e-6)
    zh_photo, zh_target, zh_english = [], [], []
    for r in zh_rows:
        p = photo_index[r["image_id"]]
        zh_photo.append(p)
        match = en_key.get((r["image_id"], int(r["caption_idx"])))
        translated = r["kind"] != "zhc" and match is not None
        zh_target.append(en_vectors[match] if translated else mean[p])
        zh_english.append(match if translated else -1)
    return Data(
        photo_vectors=photo_vectors,
        en_ids=encode_texts(tokenizer, english.captions, config.context_length, special),
        en_photo=en_photo,
        en_vectors=en_vectors,
        zh_ids=encode_texts(
            tokenizer, [r["caption"] for r in zh_rows], config.context_length, special
        ),
        zh_photo=np.asarray(zh_photo),
        zh_kind=[r["kind"] for r in zh_rows],
        zh_target=np.asarray(zh_target, dtype=np.float32),
        zh_english=np.asarray(zh_english),
        train_photos=train,
        val_photos=val,
    )


# -- training ------------------------------------------------------------------------------


def recall(similarity: np.ndarray, correct: np.ndarray) -> dict[str, float]:
    """Text -> image Recall@K in % (`mmsearch eval`'s): row i's right column is correct[i]."""
    found = recalls(similarity, lambda row, top: top == correct[row])
    return {k: round(v * 100, 2) for k, v in found.items()}


def embed(tower: nn.Module, ids: Sequence[np.ndarray], batch: int = 1024) -> np.ndarray:
    tower.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(ids), batch):
            out.append(tower(*pad_batch(ids[start : start + batch])).numpy())
    return np.concatenate(out)


def validate(tower: nn.Module, data: Data, english: bool = True) -> dict[str, Any]:
    """Recall@K on the held-out photos: their written-in-Chinese captions, their English
    captions (through this tower), against their photo vectors."""
    val = data.val_photos
    position = np.full(len(data.photo_vectors), -1)
    position[val] = np.arange(len(val))
    photos = data.photo_vectors[val]
    out: dict[str, Any] = {}
    zh = [
        i
        for i in range(len(data.zh_ids))
        if position[data.zh_photo[i]] >= 0 and data.zh_kind[i] == "zhc"
    ]
    en = [i for i in range(len(data.en_ids)) if english and position[data.en_photo[i]] >= 0]
    for name, rows, ids, owner in (
        ("zh", zh, data.zh_ids, data.zh_photo),
        ("en", en, data.en_ids, data.en_photo),
    ):
        if rows:
            vectors = embed(tower, [ids[i] for i in rows])
            out[name] = recall(vectors @ photos.T, position[owner[rows]])
    return out


def score_chinese(r: dict[str, Any]) -> float:
    """Model selection: Chinese R@1+5+10."""
    return float(sum(r["zh"].values()))


def score_with_english(r: dict[str, Any]) -> float:
    """Model selection when English vectors may change: Chinese and English R@1+5+10."""
    return float(sum(r["zh"].values()) + sum(r["en"].values()))


def by_photo(owners: np.ndarray) -> dict[int, list[int]]:
    """{photo: its rows} of a caption -> photo array."""
    out: dict[int, list[int]] = {}
    for i, p in enumerate(owners):
        out.setdefault(int(p), []).append(i)
    return out


def warmup_cosine(optimizer: torch.optim.Optimizer, steps: int, total: int) -> Any:
    """Linear warm-up over the first epoch's `steps`, then cosine decay to 0 at `total`."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min(1.0, (s + 1) / steps) * 0.5 * (1 + math.cos(math.pi * min(s / total, 1.0))),
    )


def photo_batches(rng: np.random.Generator, photos: np.ndarray, size: int) -> Iterator[np.ndarray]:
    """An epoch's batches: `photos` shuffled, `size` at a time."""
    order = rng.permutation(photos)
    for start in range(0, len(order), size):
        yield order[start : start + size]


def optimize(optimizer: torch.optim.Optimizer, schedule: Any, loss: torch.Tensor) -> float:
    """One step on `loss`; returns its value."""
    optimizer.zero_grad()
    loss.backward()  # type: ignore[no-untyped-call]
    optimizer.step()
    schedule.step()
    return float(loss.detach())


def contrast_distill(
    vectors: torch.Tensor,
    photos: torch.Tensor,
    targets: np.ndarray,
    scale: float,
    contrast_weight: float,
    distill_weight: float,
) -> torch.Tensor:
    """Symmetric InfoNCE of caption vectors against their photos' vectors (row i matches
    row i) plus the mean cosine distance to the teacher's vectors `targets`."""
    contrast, _ = contrastive_loss(photos, vectors, torch.tensor(scale))
    distill = (1 - (vectors * torch.from_numpy(targets)).sum(dim=1)).mean()
    loss: torch.Tensor = contrast_weight * contrast + distill_weight * distill
    return loss


def fit(
    epochs: int,
    patience: int,
    run_epoch: Callable[[], list[float]],
    validate_now: Callable[[], dict[str, Any]],
    snapshot: Callable[[], Any],
    restore: Callable[[Any], None],
    log: Log,
    keep: Callable[[dict[str, Any]], object] | None = None,
    score: Callable[[dict[str, Any]], float] = score_chinese,
) -> dict[str, Any]:
    """Epochs of `run_epoch` (its step losses), validated after each; stops after
    `patience` epochs without a better Chinese R@1+5+10 and restores the best epoch's
    `snapshot`. `keep(record)` after each improvement (the caller saves then)."""
    first = validate_now()
    log(f"epoch 0 (before training): {first}")
    history: list[dict[str, Any]] = [{"epoch": 0, "val": first}]
    best: tuple[float, Any, int] | None = None
    waited = 0
    for epoch in range(1, epochs + 1):
        started = time.time()
        losses = run_epoch()
        result = validate_now()
        value = score(result)
        improved = best is None or value > best[0]
        seconds = time.time() - started
        history.append(
            {
                "epoch": epoch,
                "loss": round(float(np.mean(losses)), 4),
                "val": result,
                "seconds": round(seconds, 1),
            }
        )
        log(
            f"epoch {epoch}: loss {np.mean(losses):.4f} val {result} ({seconds:.0f} s)"
            f"{' *' if improved else ''}"
        )
        if improved:
            best = (value, snapshot(), epoch)
            waited = 0
            if keep is not None:
                keep({"history": history, "best_epoch": epoch, "best": result})
        else:
            waited += 1
            if waited >= patience:
                log(f"no better for {patience} epochs: stopping")
                break
    assert best is not None
    restore(best[1])
    return {"history": history, "best_epoch": best[2], "best": history[best[2]]["val"]}


def train(data: Data, tower: ZhText, config: ZhConfig, scale: float, log: Log) -> dict[str, Any]:
    """The baseline tower's training: Chinese and (for mixed queries) English captions."""
    rng = np.random.default_rng(config.seed)
    torch.manual_seed(config.seed)
    zh_of, en_of = by_photo(data.zh_photo), by_photo(data.en_photo)
    train_photos = np.asarray([p for p in data.train_photos if int(p) in zh_of])
    steps = math.ceil(len(train_photos) / config.batch_photos)
    optimizer = torch.optim.AdamW(
        tower.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    schedule = warmup_cosine(optimizer, steps, steps * config.epochs)
    photos_t = torch.from_numpy(data.photo_vectors)

    def loss_of(ids: list[np.ndarray], photos: np.ndarray, targets: np.ndarray) -> torch.Tensor:
        return contrast_distill(
            tower(*pad_batch(ids)),
            photos_t[photos],
            targets,
            scale,
            config.contrast_weight,
            config.distill_weight,
        )

    def run_epoch() -> list[float]:
        tower.train()
        losses = []
        for photos in photo_batches(rng, train_photos, config.batch_photos):
            zh = np.asarray([rng.choice(zh_of[int(p)]) for p in photos])
            loss = loss_of([data.zh_ids[i] for i in zh], photos, data.zh_target[zh])
            if config.english_weight > 0:
                en = np.asarray([rng.choice(en_of[int(p)]) for p in photos])
                loss = loss + config.english_weight * loss_of(
                    [data.en_ids[i] for i in en], photos, data.en_vectors[en]
                )
            losses.append(optimize(optimizer, schedule, loss))
        return losses

    return fit(
        config.epochs,
        config.patience,
        run_epoch,
        lambda: validate(tower, data),
        lambda: {k: v.detach().clone() for k, v in tower.state_dict().items()},
        tower.load_state_dict,
        log,
    )


def save(
    tower: ZhText, vocab: list[str], config: ZhConfig, record: dict[str, Any], out: Path
) -> Path:
    from models.common import save_weights_half

    path = out / WEIGHTS_NAME
    metadata = {
        "config": json.dumps(asdict(config)),
        "vocab": json.dumps(vocab, ensure_ascii=False),
        "head_config": json.dumps(tower.head_config.to_dict()),
        "record": json.dumps(record),
    }
    save_weights_half(path, tower.state_dict(), metadata)
    return path


def with_overrides(config: Any, items: Sequence[str] | None) -> Any:
    """`config` (a dataclass) with the command line's KEY=VALUE `--set` items applied."""
    for item in items or []:
        key, _, value = item.partition("=")
        kind = type(getattr(config, key))
        config = replace(config, **{key: kind(value) if kind is not bool else value == "true"})
    return config


def captions_in(path: Path) -> list[str]:
    """The captions of a JSONL captions file, in order."""
    return [json.loads(x)["caption"] for x in path.read_text(encoding="utf-8").splitlines() if x]


def translation_pairs(data: Data) -> list[tuple[np.ndarray, np.ndarray]]:
    """(Chinese ids, English ids) of every translated caption of a training photo."""
    train_set = set(data.train_photos.tolist())
    return [
        (data.zh_ids[i], data.en_ids[e])
        for i, e in enumerate(data.zh_english)
        if e >= 0 and int(data.zh_photo[i]) in train_set
    ]


def training_parser(description: str, out: str) -> argparse.ArgumentParser:
    """The arguments both Chinese recipes take."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--trainset", default="../shared/trainset")
    parser.add_argument(
        "--model",
        default="build/models/effnetlite-minilm-matching",
        help="the default model's folder (its graphs give the targets)",
    )
    parser.add_argument("--out", default=out)
    parser.add_argument("--cache", default="build/cache/zh")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", help="a config field")
    return parser


def run(args: argparse.Namespace, log: Log = print) -> dict[str, Any]:
    from mmsearch.paths import BUNDLED_MODEL_ID
    from models.common import load_tokenizer
    from models.matching.export import WEIGHTS_DIR, load_trained

    if args.threads:
        torch.set_num_threads(args.threads)
    config = with_overrides(ZhConfig(), args.set)
    trainset = Path(args.trainset)
    teacher = load_trained(WEIGHTS_DIR / f"{BUNDLED_MODEL_ID}.safetensors")
    english = captions_in(trainset / "captions.jsonl")
    chinese = captions_in(trainset / "captions-zh.jsonl")
    vocab = build_vocab(english, chinese, load_tokenizer())
    log(f"vocabulary: {len(vocab)} tokens")
    tokenizer = make_tokenizer(vocab)
    data = load_data(trainset, Path(args.model), tokenizer, config, Path(args.cache), log)
    tower, from_minilm = new_tower(vocab, config, teacher, config.seed, translation_pairs(data))
    log(f"{from_minilm} token embeddings start from MiniLM's states")
    scale = float(teacher.model.scale())
    result = train(data, tower, config, scale, log)
    record = {**result, "config": asdict(config), "teacher": teacher.sha256, "scale": scale}
    out = Path(args.out)
    path = save(tower, vocab, config, record, out)
    (out / "history.json").write_text(json.dumps(record, indent=1))
    log(f"wrote {path}: best epoch {result['best_epoch']}, {result['best']}")
    return record


def main(argv: Sequence[str] | None = None) -> int:
    run(training_parser(__doc__.split("\n\n")[0], "build/train/zh").parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
