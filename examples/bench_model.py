"""Measure DMR-JRG's parameter count, forward+backward time per batch and peak memory for the benchmark presets.

Usage (2-core CPU numbers in the model notes were produced with):
    python examples/bench_model.py --preset charades tacos activitynet --num-steps 1 --output bench.json
    python examples/bench_model.py --preset activitynet --device cuda --num-steps 5

Measured on a 2-core CPU (torch 2.13, 2 threads, quiet machine), vocabulary 10000, word vectors 300-d, full loss (every
branch on), seconds per forward+backward step:

    preset       B  M  J   K  parameters    s/step   peak RSS increase
    activitynet  16 4  20  32  111,448,852   124      3.22 GiB   (1 step, no warm-up; TAN alone 84.9 M parameters)
    charades     16 3  10  16   54,569,748     7.6    1.27 GiB   (mean of 2 steps after 1 warm-up)
    tacos         6 9  12  16   54,569,748     8.2    1.37 GiB   (mean of 2 steps after 1 warm-up)

Batch, sentences and words default to `dmr_jrg_hf.benchmarking.PAPER_BENCHMARK_SIZES` (paper batch sizes); vocabulary
10000 and word2vec dimension 300. Each preset runs in a fresh process, so its peak memory is its own. Results go to
stdout (JSON lines) and to --output. Run from the repository root after `pip install -e .` (or with PYTHONPATH=.).
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import sys

from dmr_jrg_hf.benchmarking import PAPER_BENCHMARK_SIZES, benchmark_model_step
from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig


def _run_preset(preset: str, args: argparse.Namespace) -> dict:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s")
    batch, sentences, words = PAPER_BENCHMARK_SIZES[preset]
    config = DMRJRGConfig.from_preset(preset, vocab_size=args.vocab_size, word_embedding_dim=args.word_embedding_dim)
    result = benchmark_model_step(
        config,
        args.batch_size or batch,
        args.num_sentences or sentences,
        args.num_words or words,
        args.num_steps,
        device=args.device,
        num_warmup_steps=args.num_warmup_steps,
    )
    return {"preset": preset, **result}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--preset", nargs="+", default=list(PAPER_BENCHMARK_SIZES), choices=list(PAPER_BENCHMARK_SIZES)
    )
    parser.add_argument("--batch-size", type=int, help="default: the paper's batch size of the preset")
    parser.add_argument("--num-sentences", type=int, help="default: from PAPER_BENCHMARK_SIZES")
    parser.add_argument("--num-words", type=int, help="default: from PAPER_BENCHMARK_SIZES")
    parser.add_argument("--num-steps", type=int, default=3, help="timed forward+backward steps")
    parser.add_argument("--num-warmup-steps", type=int, default=1, help="untimed steps first")
    parser.add_argument("--vocab-size", type=int, default=10000)
    parser.add_argument("--word-embedding-dim", type=int, default=300)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--output", help="also write the results (a JSON list) here")
    args = parser.parse_args(argv)
    results = []
    context = multiprocessing.get_context("spawn")
    for preset in args.preset:
        with context.Pool(1) as pool:
            results.append(pool.apply(_run_preset, (preset, args)))
        print(json.dumps(results[-1]), flush=True)
    if args.output:
        with open(args.output, "w") as handle:
            json.dump(results, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
