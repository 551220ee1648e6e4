"""Query latency of two models' text side, side by side in one run (issue 15: the Chinese
characters must cost English and Chinese queries at most +5 ms).

    python benchmarks/text_latency.py --base OLD_MODEL_DIR \
        --new build/models/effnetlite-minilm-matching

Each query is encoded one at a time (as a search does), the two models taking turns query by
query so that a neighbour's load hits both alike; prints p50 / p95 ms per model and language
and the difference of the medians.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from mmsearch.encoders.model import load_model

QUERIES = {
    "en": [
        "two kids on a beach at sunset",
        "a dog runs through the snow",
        "a red car parked in a street",
        "a man riding a wave on a surfboard",
        "people sitting at a table in a restaurant",
    ],
    "zh": [
        "海滩上的狗",
        "夕阳下海滩上的两个孩子",
        "一个人骑摩托车",
        "雪地里的小狗",
        "dog 在雪地里",
    ],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--new", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    models = {
        name: load_model(path, args.threads)
        for name, path in (("base", args.base), ("new", args.new))
    }
    for m in models.values():
        m.text.encode(["warm up"])
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.rounds):
        for language, queries in QUERIES.items():
            for query in queries:
                for name, model in models.items():
                    started = time.perf_counter()
                    model.text.encode([query])
                    times.setdefault((name, language), []).append(time.perf_counter() - started)
    for language in QUERIES:
        medians = {}
        for name in models:
            t = sorted(times[(name, language)])
            medians[name] = statistics.median(t) * 1e3
            p95 = t[int(0.95 * (len(t) - 1))] * 1e3
            print(f"{language} {name:4s}: p50 {medians[name]:6.2f} ms  p95 {p95:6.2f} ms")
        print(f"{language} new - base: {medians['new'] - medians['base']:+.2f} ms (p50)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
