"""Latency of `retrieve` over 10k / 100k videos and of `retrieve_and_ground` at top-k 10 / 100 (activitynet preset).

    python examples/bench_retrieval.py --output outputs/bench_retrieval.json

A thin wrapper over `dmr_jrg_hf.inference.benchmark_retrieval` (random-init model, synthetic index contents).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from dmr_jrg_hf.inference import benchmark_retrieval


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="activitynet")
    parser.add_argument("--corpus-sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--num-queries", type=int, default=50)
    parser.add_argument("--ground-top-ks", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--output", help="also write the JSON report here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("dmr_jrg_hf").setLevel(logging.INFO)
    report = benchmark_retrieval(
        args.preset, tuple(args.corpus_sizes), args.num_queries, ground_top_ks=tuple(args.ground_top_ks)
    )
    text = json.dumps(report, indent=2)
    print(text)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text + "\n")


if __name__ == "__main__":
    main()
