"""Retrieval quality of models alone and of their cosines averaged (issue 15: is a second
image trunk or a second trained head worth its cost?).

    python benchmarks/ensemble.py --captions ../shared/evalset/flickr8k/captions.jsonl \
        effnetlite-minilm-matching lite2-7259

Each model embeds the captions and photos exactly as `mmsearch eval` does (the same
decoding, preprocessing and graphs). The ensemble's similarity is the mean of the models'
cosines: what one model whose embedding is the concatenation of the members' unit vectors,
divided by sqrt(members), would give. Prints text -> image and image -> text Recall@1/5/10
for every model and for each combination of two or more, in one run.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np

from mmsearch.encoders.formats import find_model_dir
from mmsearch.encoders.model import load_model
from mmsearch.encoders.spec import ModelError
from mmsearch.paths import data_dir, model_search_path
from mmsearch.services.evaluation import (
    CaptionSet,
    embed_captions,
    embed_photos,
    load_captions,
    retrieval_recalls,
)


def similarity(folder: Path, data: CaptionSet, threads: int | None) -> np.ndarray:
    """Captions x photos cosines of the model in `folder`."""
    model = load_model(folder, threads=threads)
    return embed_captions(model, data.captions) @ embed_photos(model, data.images).T


def line(label: str, sim: np.ndarray, data: CaptionSet) -> str:
    t2i, i2t = retrieval_recalls(sim, data.caption_image)

    def fmt(values: dict[str, float]) -> str:
        return " / ".join(f"{100 * v:.1f}" for v in values.values())

    return f"{label}: text -> image {fmt(t2i)}   image -> text {fmt(i2t)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--captions", type=Path, required=True, help="JSONL captions file")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("models", nargs="+", help="model ids (data folder or build/models)")
    args = parser.parse_args()
    try:  # every model is found (where the app finds models) before any is run
        folders = {
            name: find_model_dir(name, model_search_path(data_dir())) for name in args.models
        }
    except ModelError as e:
        raise SystemExit(str(e)) from None
    data = load_captions(args.captions)
    sims = {name: similarity(folder, data, args.threads) for name, folder in folders.items()}
    for name, sim in sims.items():
        print(line(name, sim, data), flush=True)
    for size in range(2, len(sims) + 1):
        for names in itertools.combinations(sims, size):
            mean = sum(sims[n] for n in names) / size
            print(line(" + ".join(names), mean, data), flush=True)


if __name__ == "__main__":
    main()
