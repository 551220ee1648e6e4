"""Chinese for the default model's own text tower (issue 15): MiniLM's vocabulary extended
by the CJK characters of the Chinese training captions, with only their input embeddings
learnt; MiniLM's transformer and the trained text head stay frozen.

    text -> MiniLM's tokenizer, whose WordPiece vocabulary gains ~2,700 CJK characters (its
         normaliser already makes each CJK character a word of its own: no segmenter)
         -> all-MiniLM-L6-v2 (frozen; new embedding rows for the new characters, and its
            own ~240 CJK rows relearnt) -> the default model's text head (frozen)

An English text meets exactly the weights it met before (its tokens, MiniLM, the head), so
English queries give the same vectors, photos keep theirs, and Chinese, English and mixed
queries ("dog 在雪地里") go through one graph of the same speed. Trained against the frozen
default model, as `models.matching.zh` describes (its data, split, targets and validation):
a symmetric InfoNCE against the photo vectors plus distillation to the English tower's
vector of the caption a translation translates. A character starts at the weighted mean of
MiniLM's input embeddings of the English word pieces it aligns with in translated caption
pairs (`zh.aligned_states`).

    python -m models.matching.chinese --trainset ../shared/trainset --out build/train/cjk
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from mmsearch.encoders.languages import is_ideograph
from models.matching import zh
from models.matching.export import joined
from models.matching.model import TextHead

WEIGHTS_SUFFIX = ".cjk.safetensors"


@dataclass
class CjkConfig:
    seed: int = 0
    val_photos: int = 1000
    teacher_photos: int = 7259
    epochs: int = 6
    patience: int = 3
    batch_photos: int = 256
    lr: float = 5e-3
    contrast_weight: float = 1.0
    distill_weight: float = 1.0
    kinds: str = "zhc,zhb,zhg"
    init: str = "align"  # or "random"
    context_length: int = 64
    tune_layers: int = 0  # MiniLM's top transformer layers that learn too (0: rows only)
    bert_lr: float = 3e-5  # their learning rate
    english_weight: float = 0.0  # English captions' loss too (keeps and trains English)


def characters_of(chinese: Sequence[str]) -> list[str]:
    """The CJK characters of `chinese`, most frequent first."""
    counts = Counter(c for text in chinese for c in text if is_ideograph(c))
    return [c for c, _ in counts.most_common()]


class ExtendedText(nn.Module):
    """(input_ids, attention_mask) -> unit embeddings: MiniLM with a longer embedding table,
    then the trained text head (an ensemble's heads, their embeddings joined as its text
    graph joins them); only the CJK rows (`trainable`) learn."""

    trainable: torch.Tensor

    def __init__(
        self,
        bert: Any,
        head: TextHead | Sequence[TextHead],
        trainable: torch.Tensor,
        tune_layers: int = 0,
    ) -> None:
        super().__init__()
        self.bert: Any = bert
        self.heads = nn.ModuleList([head] if isinstance(head, TextHead) else head)
        self.register_buffer("trainable", trainable)
        for p in self.parameters():
            p.requires_grad_(False)
        self.tuned: dict[str, nn.Parameter] = {}
        """MiniLM's parameters that learn (its top `tune_layers` layers), by their names in
        MiniLM."""
        layers = bert.encoder.layer
        for index in range(len(layers) - tune_layers, len(layers)):
            for name, p in layers[index].named_parameters():
                p.requires_grad_(True)
                self.tuned[f"encoder.layer.{index}.{name}"] = p
        table = self.table()
        table.requires_grad_(True)
        table.register_hook(  # type: ignore[no-untyped-call]
            lambda grad: grad * self.trainable[:, None].to(grad.dtype)
        )

    def table(self) -> nn.Parameter:
        weight: nn.Parameter = self.bert.embeddings.word_embeddings.weight
        return weight

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        states = self.bert(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=torch.zeros_like(input_ids),
        ).last_hidden_state
        heads = cast(list[TextHead], list(self.heads))
        return joined([head.embed(states, attention_mask) for head in heads])


def build_model(
    tokenizer: Any,
    teachers: Sequence[Any],
    config: CjkConfig,
    pairs: Sequence[tuple[np.ndarray, np.ndarray]],
) -> tuple[ExtendedText, int, int]:
    from models.common import load_bert

    torch.manual_seed(config.seed)
    bert: Any = load_bert()
    base = bert.embeddings.word_embeddings.weight.detach()
    size = tokenizer.get_vocab_size()
    vocab = [""] * size
    for token, i in tokenizer.get_vocab().items():
        vocab[i] = token
    bert.resize_token_embeddings(size)
    table = bert.embeddings.word_embeddings.weight
    cjk = torch.tensor([len(t) == 1 and is_ideograph(t) for t in vocab])
    aligned: dict[int, torch.Tensor] = {}
    with torch.no_grad():
        std = float(base.std())
        new = torch.arange(size) >= len(base)
        table[new] = torch.randn(int(new.sum()), base.shape[1]) * std
        if config.init == "align":
            states = torch.full((size, base.shape[1]), float("nan"))
            english = ~cjk & ~new
            states[: len(base)][english[: len(base)]] = base[english[: len(base)]]
            aligned = zh.aligned_states(vocab, pairs, states)
            for row, vector in aligned.items():
                table[row] = vector
    heads = []
    for teacher in teachers:
        head = TextHead(replace(teacher.config, dropout=0.0))
        head.load_state_dict(teacher.model.text.state_dict())
        heads.append(head)
    model = ExtendedText(bert, heads, cjk, config.tune_layers)
    return model, int(cjk.sum()), len(aligned)


def train(
    data: zh.Data,
    model: ExtendedText,
    config: CjkConfig,
    scale: float,
    log: Any,
    keep: Any = None,
) -> dict[str, Any]:
    """Train the CJK rows; `keep(record)` is called after each epoch that improved (the
    caller writes the weights then, so an interrupted run keeps its best so far)."""
    rng = np.random.default_rng(config.seed)
    zh_of = zh.by_photo(data.zh_photo)
    en_of = zh.by_photo(data.en_photo)
    photos_all = np.asarray([p for p in data.train_photos if int(p) in zh_of])
    steps = math.ceil(len(photos_all) / config.batch_photos)
    groups: list[dict[str, Any]] = [{"params": [model.table()], "lr": config.lr}]
    if model.tuned:
        groups.append({"params": list(model.tuned.values()), "lr": config.bert_lr})
    optimizer = torch.optim.Adam(groups)
    schedule = zh.warmup_cosine(optimizer, steps, steps * config.epochs)
    photo_vectors = torch.from_numpy(data.photo_vectors)

    def caption_loss(
        photos: np.ndarray,
        of: dict[int, list[int]],
        ids: list[np.ndarray],
        targets: np.ndarray,
    ) -> torch.Tensor:
        """One random caption of each photo against the photos and its teacher vector."""
        rows = np.asarray([rng.choice(of[int(p)]) for p in photos])
        return zh.contrast_distill(
            model(*zh.pad_batch([ids[i] for i in rows])),
            photo_vectors[photos],
            targets[rows],
            scale,
            config.contrast_weight,
            config.distill_weight,
        )

    def run_epoch() -> list[float]:
        model.train()
        losses = []
        for photos in zh.photo_batches(rng, photos_all, config.batch_photos):
            loss = caption_loss(photos, zh_of, data.zh_ids, data.zh_target)
            if config.english_weight > 0:
                english = caption_loss(photos, en_of, data.en_ids, data.en_vectors)
                loss = loss + config.english_weight * english
            losses.append(zh.optimize(optimizer, schedule, loss))
        return losses

    def snapshot() -> dict[str, torch.Tensor]:
        return {n: p.detach().clone() for n, p in learnt(model).items()}

    def restore(saved: dict[str, torch.Tensor]) -> None:
        params = learnt(model)
        with torch.no_grad():
            for name, value in saved.items():
                params[name].copy_(value)

    english = bool(model.tuned) or config.english_weight > 0

    return zh.fit(
        config.epochs,
        config.patience,
        run_epoch,
        lambda: zh.validate(model, data, english=english),
        snapshot,
        restore,
        log,
        keep,
        score=zh.score_with_english if english else zh.score_chinese,
    )


def learnt(model: ExtendedText) -> dict[str, nn.Parameter]:
    """The parameters training changes: the embedding table (its CJK rows) and the tuned
    MiniLM layers, by their names in MiniLM."""
    return {"embeddings.word_embeddings.weight": model.table(), **model.tuned}


def save(
    model: ExtendedText, tokenizer: Any, config: CjkConfig, record: dict[str, Any], path: Path
) -> None:
    """The learnt rows only (float16), with their characters, in a safetensors file."""
    from models.common import save_weights_half

    rows = torch.nonzero(model.trainable).flatten()
    vocab = {i: t for t, i in tokenizer.get_vocab().items()}
    tensors = {"rows": model.table()[rows]}
    tensors.update({f"bert.{name}": p for name, p in model.tuned.items()})
    metadata = {
        "characters": json.dumps([vocab[int(i)] for i in rows], ensure_ascii=False),
        "config": json.dumps(asdict(config)),
        "record": json.dumps(record),
    }
    save_weights_half(path, tensors, metadata)


def load_rows(path: Path) -> tuple[list[str], torch.Tensor, dict[str, Any]]:
    """(characters, their embedding rows float32, record) of a trained file."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata() or {}
    if "characters" not in metadata:
        raise ValueError(f"{path} holds no characters: not a Chinese vocabulary file")
    rows = load_file(str(path))["rows"].to(torch.float32)
    return json.loads(metadata["characters"]), rows, json.loads(metadata.get("record", "{}"))


def tuned_layers(path: Path) -> dict[str, torch.Tensor]:
    """MiniLM's parameters that a trained file replaces (its tuned top layers), float32 by
    their names in MiniLM; empty for a file of CJK rows only."""
    from safetensors.torch import load_file

    return {
        name.removeprefix("bert."): value.to(torch.float32)
        for name, value in load_file(str(path)).items()
        if name.startswith("bert.")
    }


def extend(bert: Any, path: Path) -> Any:
    """Give `bert` (MiniLM) the trained rows of `path`; return the tokenizer that reads
    them (MiniLM's, its vocabulary extended in the order training used)."""
    from models.common import load_tokenizer

    characters, rows, _ = load_rows(path)
    tokenizer = load_tokenizer(characters=characters)
    vocab = tokenizer.get_vocab()
    bert.resize_token_embeddings(tokenizer.get_vocab_size(), mean_resizing=False)
    with torch.no_grad():
        table = bert.embeddings.word_embeddings.weight
        table[torch.tensor([vocab[c] for c in characters])] = rows
        named = dict(bert.named_parameters())
        for name, value in tuned_layers(path).items():
            named[name].copy_(value)
    return tokenizer


def run(args: argparse.Namespace, log: Any = print) -> dict[str, Any]:
    from mmsearch.paths import BUNDLED_MODEL_ID
    from models.common import load_tokenizer
    from models.matching.export import WEIGHTS_DIR, load_trained

    if args.threads:
        torch.set_num_threads(args.threads)
    config = zh.with_overrides(CjkConfig(), args.set)
    trainset = Path(args.trainset)
    chinese = zh.captions_in(trainset / "captions-zh.jsonl")
    tokenizer = load_tokenizer(characters=characters_of(chinese))
    new = tokenizer.get_vocab_size() - load_tokenizer().get_vocab_size()
    log(f"{new} new characters; vocabulary {tokenizer.get_vocab_size()}")
    data = zh.load_data(
        trainset, Path(args.model), tokenizer, config, Path(args.cache), log, special=True
    )
    # The model whose graphs are `--model` (its members, for an ensemble), in the same order.
    weights = args.weights or [WEIGHTS_DIR / f"{BUNDLED_MODEL_ID}.safetensors"]
    teachers = [load_trained(Path(w)) for w in weights]
    pairs = zh.translation_pairs(data)
    model, trainable, aligned = build_model(tokenizer, teachers, config, pairs)
    log(f"{trainable} CJK rows learn; {aligned} start aligned to English word pieces")
    scale = float(teachers[0].model.scale())
    out = Path(args.out)
    teacher = teachers[0].sha256 if len(teachers) == 1 else [t.sha256 for t in teachers]

    def keep(result: dict[str, Any]) -> dict[str, Any]:
        record = {**result, "config": asdict(config), "teacher": teacher}
        save(model, tokenizer, config, record, out / f"weights{WEIGHTS_SUFFIX}")
        (out / "history.json").write_text(json.dumps(record, indent=1))
        return record

    result = train(data, model, config, scale, log, keep)
    record = keep(result)  # the best epoch's rows (train() put them back)
    log(f"best epoch {result['best_epoch']}: {result['best']}")
    return record


def main(argv: Sequence[str] | None = None) -> int:
    parser = zh.training_parser(__doc__.split("\n\n")[0], "build/train/cjk")
    parser.add_argument(
        "--weights",
        type=Path,
        action="append",
        help="the trained heads of --model (every member's, in order, for an ensemble; "
        "default: the bundled model's)",
    )
    run(parser.parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
