"""Measure DMR-JRG's training step per preset: FLOPs, seconds per forward+backward, achieved FLOP/s against the
measured matmul peak, peak memory and the projected time of 100 epochs over ActivityNet's 10,009 paragraphs.

    python examples/bench_model.py --presets charades tacos activitynet --output bench_model.json
    python examples/bench_model.py --presets activitynet --batch-size 16 --device cuda --dtype bf16 --steps 5

The `model` section of `dmr-jrg bench` through the library API (`dmr_jrg_hf.bench`); the Table IV rows are left to
`dmr-jrg bench model`. Inputs are random tensors of the processor's shapes (B, M, J from
`dmr_jrg_hf.bench.model_step.PAPER_BENCHMARK_SIZES`), vocabulary 10,000 and 300-d word vectors.
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
    parser.add_argument("--presets", nargs="+", default=["tiny", "charades", "tacos", "activitynet"])
    parser.add_argument("--batch-size", type=int, help="default: the suite's batch per preset")
    parser.add_argument("--steps", type=int, default=3, help="timed forward+backward steps")
    parser.add_argument("--warmup-steps", type=int, default=1, help="untimed steps first (the first counts FLOPs)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--output", help="also write the JSON report here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s")
    settings = BenchSettings(
        device=args.device,
        dtype=args.dtype,
        presets=tuple(args.presets),
        batch_size=args.batch_size,
        num_steps=args.steps,
        warmup_steps=args.warmup_steps,
        ablation_preset=None,
    )
    report = run_suite(["model"], settings)
    if args.output:
        Path(args.output).write_text(json.dumps(report, indent=2) + "\n")
    print(format_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
