"""The frozen parts of the matching model, exported to ONNX for feature caching.

Training runs them once per photo view and per caption (see `data.py`); the app's graphs
(see `export.py`) contain the very same modules followed by the trained heads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from models.common import export_onnx, load_backbone, load_bert, load_tokenizer, tokenize
from models.matching.model import Trunk


class TokenStates(nn.Module):
    """all-MiniLM-L6-v2's last hidden states for (input_ids, attention_mask)."""

    def __init__(self, bert: nn.Module) -> None:
        super().__init__()
        self.bert = bert

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        states: torch.Tensor = self.bert(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=torch.zeros_like(input_ids),  # single-segment text
        ).last_hidden_state
        return states


def load_trunk(backbone: str, grid: int) -> tuple[Trunk, int]:
    """The frozen trunk and its input size (EfficientNet-Lite pads for one size only)."""
    network = load_backbone(backbone)
    return Trunk(network, grid).eval(), int(network.input_image_size)


def export_trunk(trunk: Trunk, size: int, path: Path) -> None:
    """`pixels` (N, 3, S, S) -> `pooled` (N, 1280), `regions` (N, R, 1280)."""
    batch = torch.export.Dim("batch", min=1, max=4096)
    example = torch.randn(2, 3, size, size)
    export_onnx(trunk, (example,), ["pixels"], ["pooled", "regions"], {"pixels": {0: batch}}, path)


def export_token_states(bert: nn.Module, tokenizer: Any, path: Path) -> None:
    """`input_ids`, `attention_mask` (N, L) -> `states` (N, L, 384)."""
    ids, mask = tokenize(tokenizer, ["a dog runs on the beach", "two children play football"])
    batch = torch.export.Dim("batch", min=1, max=4096)
    length = torch.export.Dim("sequence", min=1, max=256)
    shapes = {"input_ids": {0: batch, 1: length}, "attention_mask": {0: batch, 1: length}}
    export_onnx(
        TokenStates(bert).eval(),
        (ids, mask),
        ["input_ids", "attention_mask"],
        ["states"],
        shapes,
        path,
    )


def frozen_graphs(backbone: str, grid: int, cache_dir: Path) -> tuple[Path, Path, int, Any]:
    """(trunk.onnx, text-states.onnx, input size, tokenizer), exported into `cache_dir` once."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    trunk_path = cache_dir / f"trunk-{backbone}-grid{grid}.onnx"
    text_path = cache_dir / "minilm-states.onnx"
    trunk, size = load_trunk(backbone, grid)
    if not trunk_path.is_file():
        tmp = trunk_path.with_suffix(".tmp")
        export_trunk(trunk, size, tmp)
        tmp.rename(trunk_path)
    tokenizer = load_tokenizer()
    if not text_path.is_file():
        tmp = text_path.with_suffix(".tmp")
        export_token_states(load_bert(), tokenizer, tmp)
        tmp.rename(text_path)
    return trunk_path, text_path, size, tokenizer
