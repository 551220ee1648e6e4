"""Train the matching model's heads on captioned photos (cached frozen features).

    python -m models.matching.train --captions ../shared/trainset/captions.jsonl \
        --out build/train/matching [--config config.json] [--set key=value ...]

or `mmsearch train ...` (the same). Two phases, each with per-epoch validation Recall@K on
photos held out by photo, early stopping and the best epoch's weights kept:

1. the dual encoder (image head + text head): symmetric InfoNCE with a learnable temperature
   (optionally plus VSE++'s max-violation hinge), on random views of each photo;
2. the fusion head, with the encoders frozen: a listwise matching loss over hard negatives
   mined from the encoders' similarities (for each caption its positive photo and K
   similar others, and for each photo its caption and K similar other captions).

A checkpoint is written after every epoch (`checkpoint.pt`, atomically); run the same command
again to resume an interrupted run. The result is `weights.safetensors` (float16 heads,
config and training record in its metadata), `history.json` and `curves.png`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from models.common import LITE_MEAN, LITE_STD, save_weights_half
from models.matching import data as D
from models.matching.model import (
    MatchingConfig,
    MatchingModel,
    contrastive_loss,
    max_violation_loss,
    sample_hard_negatives,
)

KS = (1, 5, 10)
Log = Callable[[str], None]


@dataclass
class Features:
    """Everything training reads: cached features of all photos and captions, the split."""

    photos: D.CaptionedPhotos
    image: D.ImageFeatures
    text: D.TextFeatures
    train_photos: np.ndarray  # photo indices
    val_photos: np.ndarray
    train_captions: np.ndarray  # caption indices
    val_captions: np.ndarray
    captions_of: list[np.ndarray]  # caption indices of each photo


def prepare(
    config: MatchingConfig,
    captions: Path,
    images_root: Path | None,
    cache_dir: Path,
    log: Log = print,
) -> Features:
    """Load the captions, split them by photo and cache the frozen parts' features."""
    from models.matching.frozen import frozen_graphs

    data = D.load_captions(captions, images_root)
    log(f"{len(data.photos)} photos, {len(data.captions)} captions from {captions}")
    trunk, text_graph, size, tokenizer = frozen_graphs(config.backbone, config.grid, cache_dir)
    text = D.cache_text_features(data.captions, text_graph, tokenizer, cache_dir, log)
    views = D.view_names(config.resize, config.random_crops)
    image = D.cache_image_features(
        data.photos, trunk, size, LITE_MEAN, LITE_STD, views, cache_dir, config.seed, log
    )
    order = np.random.default_rng(config.seed).permutation(len(data.photos))
    val_count = min(config.val_photos, len(data.photos) // 5)
    val, train = np.sort(order[:val_count]), np.sort(order[val_count:])
    in_val = np.zeros(len(data.photos), dtype=bool)
    in_val[val] = True
    owner = data.caption_photo
    captions_of = [np.flatnonzero(owner == p) for p in range(len(data.photos))]
    log(f"split by photo: {len(train)} training, {len(val)} validation (seed {config.seed})")
    return Features(
        data,
        image,
        text,
        train,
        val,
        np.flatnonzero(~in_val[owner]),
        np.flatnonzero(in_val[owner]),
        captions_of,
    )


def train_views(config: MatchingConfig, views: Sequence[str]) -> tuple[list[int], int]:
    """(view indices to train on, view index to validate on): every cached view trains, the
    first (the whole photo, or the centre crop) validates, as the app will preprocess."""
    del config
    return list(range(len(views))), 0


# -- batches -------------------------------------------------------------------------------


def image_batch(
    features: Features, photos: np.ndarray, views: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor]:
    """(pooled (B, C), regions (B, R, C)) float32 of photo views."""
    pooled = torch.from_numpy(np.asarray(features.image.pooled[photos, views], dtype=np.float32))
    regions = torch.from_numpy(np.asarray(features.image.regions[photos, views], dtype=np.float32))
    return pooled, regions


def text_batch(features: Features, captions: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    states, _ids, mask = features.text.batch(captions)
    return torch.from_numpy(states), torch.from_numpy(mask)


def sample_batch(
    features: Features, photos: np.ndarray, views: list[int], rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """A random view and a random caption of each of `photos`."""
    chosen_views = rng.choice(views, size=len(photos))
    captions = np.asarray([rng.choice(features.captions_of[p]) for p in photos])
    pooled, regions = image_batch(features, photos, chosen_views)
    states, mask = text_batch(features, captions)
    return pooled, regions, states, mask


# -- evaluation ----------------------------------------------------------------------------


def recall_at_k(similarity: np.ndarray, correct: np.ndarray) -> dict[str, float]:
    """Recall@K of each row's ranking of the columns; `correct` (rows, cols) bool."""
    top = np.argsort(-similarity, axis=1, kind="stable")[:, : max(KS)]
    hits = np.take_along_axis(correct, top, axis=1)
    return {f"R@{k}": float(hits[:, :k].any(axis=1).mean()) for k in KS}


@torch.no_grad()
def embed_split(
    model: MatchingModel, features: Features, photos: np.ndarray, captions: np.ndarray, view: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Unit embeddings of the photos (one view) and of the captions, in eval mode."""
    model.eval()
    images = []
    for i in range(0, len(photos), 512):
        chunk = photos[i : i + 512]
        images.append(model.image.embed(*image_batch(features, chunk, np.full(len(chunk), view))))
    texts = [
        model.text.embed(*text_batch(features, captions[i : i + 512]))
        for i in range(0, len(captions), 512)
    ]
    return torch.cat(images), torch.cat(texts)


def validate(
    model: MatchingModel, features: Features, view: int
) -> tuple[dict[str, float], torch.Tensor, torch.Tensor]:
    """Validation R@K both ways (t2i_R@k, i2t_R@k, rsum) and the embeddings."""
    photos, captions = features.val_photos, features.val_captions
    images, texts = embed_split(model, features, photos, captions, view)
    sim = (texts @ images.T).numpy()
    owner = np.searchsorted(photos, features.photos.caption_photo[captions])
    correct = owner[:, None] == np.arange(len(photos))[None, :]
    result = {f"t2i_{k}": v for k, v in recall_at_k(sim, correct).items()}
    result |= {f"i2t_{k}": v for k, v in recall_at_k(sim.T, correct.T).items()}
    result["t2i_rsum"] = sum(result[f"t2i_R@{k}"] for k in KS)
    return result, images, texts


@torch.no_grad()
def fusion_scores(
    model: MatchingModel,
    features: Features,
    photos: np.ndarray,
    view: int,
    captions: np.ndarray,
) -> torch.Tensor:
    """Fusion logits of the pairs (photos[i], captions[i])."""
    model.eval()
    out = []
    for i in range(0, len(photos), 1024):
        p, c = photos[i : i + 1024], captions[i : i + 1024]
        _, regions = image_batch(features, p, np.full(len(p), view))
        states, mask = text_batch(features, c)
        out.append(
            model.fusion(
                model.image.fusion_regions(regions), model.text.fusion_tokens(states), mask
            )
        )
    return torch.cat(out)


def validate_rerank(
    model: MatchingModel,
    features: Features,
    view: int,
    top: int,
    captions_per_photo: int = 1,
) -> dict[str, float]:
    """t2i R@K after re-ranking each caption's `top` dual-encoder candidates with
    cos * fusion_scale + fusion logit (on `captions_per_photo` captions of each val photo)."""
    photos = features.val_photos
    captions = np.concatenate([features.captions_of[p][:captions_per_photo] for p in photos])
    images, texts = embed_split(model, features, photos, captions, view)
    sim = texts @ images.T
    cand = sim.topk(top, dim=1).indices.numpy()
    pairs_c = np.repeat(captions, top)
    pairs_p = photos[cand.reshape(-1)]
    logits = fusion_scores(model, features, pairs_p, view, pairs_c).view(len(captions), top)
    dual = torch.gather(sim, 1, torch.from_numpy(cand))
    owner = np.searchsorted(photos, features.photos.caption_photo[captions])
    correct = cand == owner[:, None]
    result = {}
    for name, score in (
        ("dual", dual),
        ("fused", dual * model.fusion_scale.detach() + logits),
    ):
        order = score.argsort(dim=1, descending=True).numpy()
        hits = np.take_along_axis(correct, order, axis=1)
        for k in KS:
            result[f"{name}_R@{k}"] = float(hits[:, :k].any(axis=1).mean())
        result[f"{name}_rsum"] = sum(result[f"{name}_R@{k}"] for k in KS)
    return result


# -- training ------------------------------------------------------------------------------


def _steps_per_epoch(features: Features, batch: int) -> int:
    return max(1, len(features.train_captions) // batch)


def _lr_factor(step: int, total: int, warmup: int) -> float:
    """Linear warm-up, then cosine decay to 5 %."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress))


def dual_parameters(model: MatchingModel) -> list[torch.nn.Parameter]:
    fusion_only = ("region_proj", "region_pos", "region_norm", "token_proj", "token_norm")
    params = [model.logit_scale]
    for part in (model.image, model.text):
        params += [p for n, p in part.named_parameters() if not n.startswith(fusion_only)]
    return params


def fusion_parameters(model: MatchingModel) -> list[torch.nn.Parameter]:
    params = [*model.fusion.parameters(), model.fusion_scale]
    params += [*model.image.region_proj.parameters(), model.image.region_pos]
    params += [*model.image.region_norm.parameters()]
    params += [*model.text.token_proj.parameters(), *model.text.token_norm.parameters()]
    return params


class Trainer:
    """One training run in `out`: both phases, checkpoints, history, plot and weights."""

    def __init__(
        self,
        config: MatchingConfig,
        features: Features,
        out: Path,
        log: Log = print,
        command: str = "",
        max_steps: int | None = None,
    ) -> None:
        self.config = config
        self.features = features
        self.out = out
        self.log = log
        self.command = command
        self.max_steps = max_steps  # a cap on steps per epoch (tests, smoke runs)
        torch.manual_seed(config.seed)
        self.model = MatchingModel(config)
        self.views, self.val_view = train_views(config, features.image.views)
        self.state: dict[str, Any] = {
            "phase": "dual",
            "epoch": 0,
            "best": -1.0,
            "best_epoch": 0,
            "history": [],
            "seconds": 0.0,
        }
        self.best_state: dict[str, torch.Tensor] = {}
        self.optimizer = self._optimizer("dual")

    def _optimizer(self, phase: str) -> torch.optim.Optimizer:
        if phase == "dual":
            params, lr = dual_parameters(self.model), self.config.lr
        else:
            params, lr = fusion_parameters(self.model), self.config.fusion_lr
        return torch.optim.AdamW(params, lr=lr, weight_decay=self.config.weight_decay)

    # -- checkpoints -------------------------------------------------------------------------

    @property
    def checkpoint_path(self) -> Path:
        return self.out / "checkpoint.pt"

    def save_checkpoint(self, rng: np.random.Generator) -> None:
        tmp = self.checkpoint_path.with_suffix(".tmp")
        torch.save(
            {
                "config": self.config.to_dict(),
                "model": self.model.state_dict(),
                "best_state": self.best_state,
                "optimizer": self.optimizer.state_dict(),
                "state": self.state,
                "numpy_rng": rng.bit_generator.state,
                "torch_rng": torch.get_rng_state(),
            },
            tmp,
        )
        os.replace(tmp, self.checkpoint_path)

    def load_checkpoint(self, rng: np.random.Generator) -> bool:
        """Resume from `checkpoint.pt` if it was written with the same config."""
        if not self.checkpoint_path.is_file():
            return False
        saved = torch.load(self.checkpoint_path, weights_only=False)
        if saved["config"] != self.config.to_dict():
            raise SystemExit(
                f"{self.checkpoint_path} was written with another config: "
                "use another --out, or delete it to start over"
            )
        self.model.load_state_dict(saved["model"])
        self.best_state = saved["best_state"]
        self.state = saved["state"]
        self.optimizer = self._optimizer(self.state["phase"])
        self.optimizer.load_state_dict(saved["optimizer"])
        rng.bit_generator.state = saved["numpy_rng"]
        torch.set_rng_state(saved["torch_rng"])
        self.log(
            f"resuming from {self.checkpoint_path}: phase {self.state['phase']}, "
            f"{self.state['epoch']} epoch(s) done"
        )
        return True

    # -- the loop ----------------------------------------------------------------------------

    def start_from(self, weights: Path) -> None:
        """Take the dual encoder (image and text heads, temperature) from a trained weights
        file and go straight to the fusion phase: retrains only the fusion head."""
        from safetensors.torch import load_file

        saved = {k: v.to(torch.float32) for k, v in load_file(str(weights)).items()}
        fusion = {n for n, _ in self.model.named_parameters() if n.startswith("fusion.")}
        fusion |= {f"image.{n}" for n, _ in self.model.image.named_parameters() if "region" in n}
        fusion |= {f"text.{n}" for n, _ in self.model.text.named_parameters() if "token" in n}
        dual = {k: v for k, v in saved.items() if k not in fusion and k != "fusion_scale"}
        missing = self.model.load_state_dict(dual, strict=False).missing_keys
        if set(missing) - fusion - {"fusion_scale"}:
            raise SystemExit(f"{weights} does not fit this config (missing {missing})")
        self.best_state = {k: v.clone() for k, v in self.model.state_dict().items()}
        self.state["phase"] = "dual_done"
        self.log(f"dual encoder taken from {weights}: training the fusion head only")

    def run(self, init_from: Path | None = None) -> dict[str, Any]:
        """Train both phases (resuming if a checkpoint is there); write the results."""
        self.out.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(self.config.seed)
        if not self.load_checkpoint(rng) and init_from is not None:
            self.start_from(init_from)
        if self.state["phase"] == "dual":
            self._phase(rng, "dual", self.config.max_epochs)
            self.state["phase"] = "dual_done"
        if self.state["phase"] == "dual_done":
            self.model.load_state_dict(self.best_state)
            with torch.no_grad():  # the fusion logit starts on the dual encoder's own scale
                self.model.fusion_scale.copy_(self.model.scale())
            self.state |= {"phase": "fusion", "epoch": 0, "best": -1.0, "best_epoch": 0}
            self.optimizer = self._optimizer("fusion")
            self.save_checkpoint(rng)
        if self.state["phase"] == "fusion":
            if self.config.fusion_epochs > 0:
                self._phase(rng, "fusion", self.config.fusion_epochs)
                self.model.load_state_dict(self.best_state)
            self.state["phase"] = "done"
            self.save_checkpoint(rng)
        return self.finish()

    def _phase(self, rng: np.random.Generator, phase: str, epochs: int) -> None:
        cfg = self.config
        batch = cfg.batch_size
        steps = _steps_per_epoch(self.features, batch)
        if self.max_steps is not None:
            steps = min(steps, self.max_steps)
        total = steps * epochs
        while self.state["epoch"] < epochs:
            epoch = self.state["epoch"] + 1
            started = time.monotonic()
            self.model.train()
            losses = []
            for step in range(steps):
                factor = _lr_factor((epoch - 1) * steps + step, total, max(1, steps // 2))
                base = cfg.lr if phase == "dual" else cfg.fusion_lr
                for group in self.optimizer.param_groups:
                    group["lr"] = base * factor
                photos = rng.permutation(self.features.train_photos)[:batch]
                loss = (
                    self._dual_step(photos, rng)
                    if phase == "dual"
                    else self._fusion_step(photos, rng)
                )
                losses.append(loss)
            train_seconds = time.monotonic() - started
            if phase == "dual":
                metrics, _, _ = validate(self.model, self.features, self.val_view)
                score = metrics["t2i_rsum"]
            else:
                metrics = validate_rerank(
                    self.model, self.features, self.val_view, self.config.rerank_top
                )
                score = metrics["fused_rsum"]
            record = {
                "phase": phase,
                "epoch": epoch,
                "loss": float(np.mean(losses)),
                "temperature": float(1 / self.model.scale().item()),
                "fusion_scale": float(self.model.fusion_scale.item()),
                "seconds": round(time.monotonic() - started, 1),
                "train_seconds": round(train_seconds, 1),
                **{k: round(v, 4) for k, v in metrics.items()},
            }
            self.state["history"].append(record)
            self.state["seconds"] += time.monotonic() - started
            self.state["epoch"] = epoch
            improved = score > self.state["best"]
            if improved:
                self.state["best"], self.state["best_epoch"] = score, epoch
                self.best_state = {k: v.clone() for k, v in self.model.state_dict().items()}
            self._log_epoch(record, improved)
            self.save_checkpoint(rng)
            self.plot()
            if epoch - self.state["best_epoch"] >= cfg.patience:
                self.log(f"  early stop: no better validation for {cfg.patience} epochs")
                break

    def _log_epoch(self, r: dict[str, Any], improved: bool) -> None:
        if r["phase"] == "dual":
            shown = (
                f"t2i {100 * r['t2i_R@1']:.1f}/{100 * r['t2i_R@5']:.1f}/{100 * r['t2i_R@10']:.1f}"
                f"  i2t {100 * r['i2t_R@1']:.1f}/{100 * r['i2t_R@5']:.1f}/{100 * r['i2t_R@10']:.1f}"
                f"  T {r['temperature']:.3f}"
            )
        else:
            shown = (
                f"t2i re-ranked {100 * r['fused_R@1']:.1f}/{100 * r['fused_R@5']:.1f}/"
                f"{100 * r['fused_R@10']:.1f} (dual {100 * r['dual_R@1']:.1f}/"
                f"{100 * r['dual_R@5']:.1f}/{100 * r['dual_R@10']:.1f})"
            )
        self.log(
            f"[{r['phase']} {r['epoch']:2d}] loss {r['loss']:.4f}  val {shown}  "
            f"({r['seconds']:.0f} s){'  *' if improved else ''}"
        )

    def _dual_step(self, photos: np.ndarray, rng: np.random.Generator) -> float:
        pooled, regions, states, mask = sample_batch(self.features, photos, self.views, rng)
        image = self.model.image.embed(pooled, regions)
        text = self.model.text.embed(states, mask)
        loss, sims = contrastive_loss(image, text, self.model.scale())
        if self.config.hard_negative_weight > 0:
            loss = loss + self.config.hard_negative_weight * max_violation_loss(
                sims, self.config.hard_negative_margin
            )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        self.optimizer.step()
        return float(loss.item())

    def _fusion_step(self, photos: np.ndarray, rng: np.random.Generator) -> float:
        """Listwise matching loss: each anchor caption against its photo and K hard negative
        photos, each anchor photo against its caption and K hard negative captions; the
        negatives come from the whole (larger) batch, ranked by the frozen embeddings."""
        cfg, model = self.config, self.model
        pooled, regions, states, mask = sample_batch(self.features, photos, self.views, rng)
        with torch.no_grad():
            model.eval()
            sims = model.text.embed(states, mask) @ model.image.embed(pooled, regions).T
            model.train()
        k = min(cfg.fusion_negatives, len(photos) - 1)
        anchors = min(cfg.fusion_batch, len(photos))
        generator = torch.Generator().manual_seed(int(rng.integers(1 << 62)))
        neg_images = sample_hard_negatives(sims[:anchors], k, generator)  # caption -> photos
        neg_texts = sample_hard_negatives(sims.T[:anchors], k, generator)  # photo -> captions
        rows = torch.arange(anchors).unsqueeze(1)
        # (anchors, 1 + k) candidate indices into the batch, the positive first
        image_lists = torch.cat([rows, neg_images], dim=1)
        text_lists = torch.cat([rows, neg_texts], dim=1)
        fused_regions = model.image.fusion_regions(regions)
        # caption-major pairs, then photo-major pairs: one fusion pass over all of them
        anchor = rows.expand(-1, k + 1).reshape(-1)
        pair_image = torch.cat([image_lists.reshape(-1), anchor])
        pair_text = torch.cat([anchor, text_lists.reshape(-1)])
        # Trim the batch's padding to the longest caption the pairs use: the fusion head's
        # cost grows with the token count.
        width = int(mask[pair_text].sum(dim=1).max())
        tokens = model.text.fusion_tokens(states[pair_text, :width])
        logits = model.fusion(fused_regions[pair_image], tokens, mask[pair_text, :width])
        logits = logits + model.fusion_scale * sims[pair_text, pair_image]
        logits = logits.view(2, anchors, k + 1)
        target = torch.zeros(anchors, dtype=torch.long)
        loss = (F.cross_entropy(logits[0], target) + F.cross_entropy(logits[1], target)) / 2
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        self.optimizer.step()
        return float(loss.item())

    # -- results -----------------------------------------------------------------------------

    def plot(self) -> None:
        """curves.png: training loss and validation recall per epoch, both phases."""
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:  # plotting is a nicety; the history is in history.json
            return
        history = self.state["history"]
        fig, axes = plt.subplots(2, 2, figsize=(11, 7))
        for col, phase in enumerate(("dual", "fusion")):
            rows = [r for r in history if r["phase"] == phase]
            loss_ax, recall_ax = axes[0][col], axes[1][col]
            loss_ax.set_title(f"{phase}: training loss")
            recall_ax.set_title(f"{phase}: validation text->image recall (%)")
            if not rows:
                continue
            epochs = [r["epoch"] for r in rows]
            loss_ax.plot(epochs, [r["loss"] for r in rows], marker="o")
            prefix = "t2i_" if phase == "dual" else "fused_"
            for k in KS:
                values = [100 * r[f"{prefix}R@{k}"] for r in rows]
                recall_ax.plot(epochs, values, marker="o", label=f"R@{k}")
            if phase == "fusion":
                for k in KS:
                    values = [100 * r[f"dual_R@{k}"] for r in rows]
                    recall_ax.plot(epochs, values, linestyle="--", label=f"dual R@{k}")
            recall_ax.legend(fontsize=8)
            recall_ax.set_xlabel("epoch")
        fig.tight_layout()
        fig.savefig(self.out / "curves.png", dpi=90)
        plt.close(fig)

    def finish(self) -> dict[str, Any]:
        """Write weights.safetensors and history.json; return the training record."""
        history = self.state["history"]
        best = {
            phase: max(
                (r for r in history if r["phase"] == phase),
                key=lambda r: r["t2i_rsum"] if phase == "dual" else r["fused_rsum"],
                default=None,
            )
            for phase in ("dual", "fusion")
        }
        record = {
            "command": self.command,
            "seed": self.config.seed,
            "train_photos": len(self.features.train_photos),
            "val_photos": len(self.features.val_photos),
            "train_captions": len(self.features.train_captions),
            "seconds": round(self.state["seconds"], 1),
            "best": best,
        }
        metadata = {"config": json.dumps(self.config.to_dict()), "record": json.dumps(record)}
        save_weights_half(self.out / "weights.safetensors", self.model.state_dict(), metadata)
        (self.out / "history.json").write_text(
            json.dumps(
                {"config": self.config.to_dict(), "record": record, "history": history}, indent=1
            )
        )
        self.plot()
        self.log(f"wrote {self.out / 'weights.safetensors'} and {self.out / 'curves.png'}")
        return record


def parse_overrides(config: MatchingConfig, items: Sequence[str]) -> MatchingConfig:
    """Apply `key=value` overrides (values parsed as JSON when they parse, else strings)."""
    data = config.to_dict()
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in data:
            raise SystemExit(f"--set {item!r}: expected key=value with key one of {sorted(data)}")
        try:
            data[key] = json.loads(value)
        except ValueError:
            data[key] = value
    return MatchingConfig.from_dict(data)


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The training command's arguments (shared with `mmsearch train`)."""
    parser = parser or argparse.ArgumentParser(
        prog="python -m models.matching.train", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--captions", type=Path, required=True, help="JSONL or COCO captions JSON")
    parser.add_argument("--images", type=Path, help="image folder (default: beside the captions)")
    parser.add_argument("--out", type=Path, default=Path("build/train/matching"), help="run folder")
    parser.add_argument("--config", type=Path, help="a JSON file of config values")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--cache", type=Path, help="feature cache (default: build/cache/matching)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--max-steps", type=int, help="cap on steps per epoch (smoke tests)")
    parser.add_argument("--cache-only", action="store_true", help="cache the features, then stop")
    parser.add_argument(
        "--init-from", type=Path, help="take the dual encoder from these weights, train the fusion"
    )
    return parser


def training_command(args: argparse.Namespace) -> str:
    """The command line that reproduces these weights (the knobs that change them; threads,
    cache folder and step caps for smoke tests aside)."""
    words = ["mmsearch", "train", "--captions", str(args.captions)]
    if args.images:
        words += ["--images", str(args.images)]
    words += ["--out", str(args.out)]
    if args.config:
        words += ["--config", str(args.config)]
    for item in args.set:
        words += ["--set", item]
    if args.max_steps:
        words += ["--max-steps", str(args.max_steps)]
    if getattr(args, "init_from", None):
        words += ["--init-from", str(args.init_from)]
    return " ".join(shlex.quote(w) for w in words)


def run(args: argparse.Namespace, log: Log = print) -> dict[str, Any]:
    """Train as the parsed arguments say; returns the training record."""
    if args.threads:
        torch.set_num_threads(args.threads)
    config = MatchingConfig()
    if args.config:
        config = MatchingConfig.from_dict(json.loads(args.config.read_text()))
    config = parse_overrides(config, args.set)
    started = time.monotonic()
    features = prepare(config, args.captions, args.images, args.cache or D.default_cache_dir(), log)
    log(f"features ready ({time.monotonic() - started:.0f} s)")
    if getattr(args, "cache_only", False):
        return {"seconds": round(time.monotonic() - started, 1)}
    command = training_command(args)
    trainer = Trainer(config, features, args.out, log, command, args.max_steps)
    record = trainer.run(getattr(args, "init_from", None))
    log(f"done in {time.monotonic() - started:.0f} s")
    return record


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point."""
    args = build_parser().parse_args(argv)
    run(args, lambda m: print(m, flush=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
