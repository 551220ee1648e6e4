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

from mmsearch.encoders.model import load_model
from mmsearch.paths import data_dir, model_search_path
from mmsearch.services.evaluation import CaptionSet, embed_photos, load_captions, recalls


def model_folder(name: str) -> Path:
    """The model's folder where the app would find it (an `mmsearch export` or a built one)."""
    places = model_search_path(data_dir())
    for folder in (place / name for place in places):
        if folder.is_dir():
            return folder
    raise SystemExit(f"no model {name!r} in {', '.join(map(str, places))} (see mmsearch export)")


def similarity(name: str, data: CaptionSet, threads: int | None) -> np.ndarray:
    model = load_model(model_folder(name), threads=threads)
    texts = [
        model.text.encode(data.captions[i : i + 256]) for i in range(0, len(data.captions), 256)
    ]
    return np.concatenate(texts) @ embed_photos(model, data.images).T


def line(label: str, sim: np.ndarray, data: CaptionSet) -> str:
    t2i = recalls(sim, lambda r, top: top == data.caption_image[r])
    i2t = recalls(sim.T, lambda r, top: data.caption_image[top] == r)

    def fmt(values: dict[str, float]) -> str:
        return " / ".join(f"{100 * v:.1f}" for v in values.values())

    return f"{label}: text -> image {fmt(t2i)}   image -> text {fmt(i2t)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--captions", type=Path, required=True, help="JSONL captions file")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("models", nargs="+", help="model ids (data folder or build/models)")
    args = parser.parse_args()
    data = load_captions(args.captions)
    sims = {name: similarity(name, data, args.threads) for name in args.models}
    for name, sim in sims.items():
        print(line(name, sim, data), flush=True)
    for size in range(2, len(sims) + 1):
        for names in itertools.combinations(sims, size):
            mean = sum(sims[n] for n in names) / size
            print(line(" + ".join(names), mean, data), flush=True)


if __name__ == "__main__":
    main()
