"""Latency of one paragraph query over 10k / 100k videos (exact) and 1M videos (exact and FAISS), against the
memory-bandwidth bound measured in the same run, and of `retrieve_and_ground`.

    python examples/bench_retrieval.py --output outputs/bench_retrieval.json
    python examples/bench_retrieval.py --corpus-sizes 10000 --large-corpus 0 --ground-top-ks 1 10

The `retrieval` section of `dmr-jrg bench` through the library API (random-init model, synthetic index contents).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from dmr_jrg_hf.bench import BenchSettings, format_table, run_suite


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="activitynet", help="model preset (d = hidden_size sets bytes per video)")
    parser.add_argument("--corpus-sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--large-corpus", type=int, default=1_000_000, help="exact + FAISS corpus; 0 skips it")
    parser.add_argument("--num-queries", type=int, default=50)
    parser.add_argument("--ground-top-ks", type=int, nargs="*", default=[1])
    parser.add_argument("--output", help="also write the JSON report here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("dmr_jrg_hf").setLevel(logging.INFO)
    settings = BenchSettings(
        retrieval_preset=args.preset,
        corpus_sizes=tuple(args.corpus_sizes),
        faiss_size=args.large_corpus,
        num_queries=args.num_queries,
        ground_top_ks=tuple(args.ground_top_ks),
    )
    report = run_suite(["retrieval"], settings)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(report, indent=2) + "\n")
    print(format_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
