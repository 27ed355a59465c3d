"""Time a realistic Charades-STA training epoch from a sample of its steps.

Real paragraphs of the Charades-STA train split (5,338 paragraphs, 2.3 sentences on average, batch 16: 334 steps;
batches pad to their longest paragraph), random clip features of the preset's width (the cost does not depend on their
values), every loss of the default recipe, the trainer's Adam (`adam_optimizer`). The first step is a warm-up;
``--steps`` further steps are timed and the epoch is extrapolated to ``ceil(5338 / 16)`` steps. The FLOPs of the timed
steps are counted afterwards (``FlopCounterMode``: matrix products and convolutions; the LSTM and element-wise work are
not counted) and set against the fp32 matmul peak (1024² products, measured in the same run). ``--full-layout`` runs
the sentence encoder and VTC-LD over every (paragraph, sentence) slot, padded ones included (the reference the packed
path is tested against); ``--tan-implementation`` and ``--reconstructor-layout`` set the TAN's convolution and the
reconstructor's layout (the config fields of those names).

    python examples/charades_epoch_benchmark.py --annotations ../shared/benchmarks/charades_sta --steps 8
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from dmr_jrg_hf import DMRJRGConfig, build_model_and_processor
from dmr_jrg_hf.bench.hardware import matmul_flops
from dmr_jrg_hf.configuration_dmr_jrg import RECONSTRUCTOR_LAYOUTS, TAN_IMPLEMENTATIONS
from dmr_jrg_hf.data.charades import read_charades_split
from dmr_jrg_hf.training import adam_optimizer


def _batches(paragraphs, processor, config, num_batches: int, batch_size: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(paragraphs))
    batches = []
    for step in range(num_batches):
        rows = [paragraphs[i] for i in order[step * batch_size : (step + 1) * batch_size]]
        features = [rng.standard_normal((64, config.feature_dim), dtype=np.float32) for _ in rows]
        batch = dict(processor(text=rows, video_features=features, durations=[30.0] * len(rows)))
        batch.pop("durations")
        batch["sentence_index"] = batch["sentence_mask"].flatten().nonzero()[:, 0]
        batches.append(batch)
    return batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--annotations", required=True, help="folder of charades_sta_train.txt and Charades_v1_*.csv")
    parser.add_argument("--steps", type=int, default=8, help="timed steps (after one warm-up)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--hidden-size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--tan-implementation", default="auto", choices=TAN_IMPLEMENTATIONS)
    parser.add_argument("--reconstructor-layout", default="auto", choices=RECONSTRUCTOR_LAYOUTS)
    parser.add_argument(
        "--full-layout", action="store_true", help="sentence encoder and VTC-LD over padded sentences too (reference)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.disable(logging.INFO)
    paragraphs = [list(row.sentences) for row in read_charades_split(args.annotations, "train")]
    config = DMRJRGConfig.from_preset(
        "charades",
        hidden_size=args.hidden_size,
        tan_implementation=args.tan_implementation,
        reconstructor_layout=args.reconstructor_layout,
    )
    model, processor = build_model_and_processor(config, [{"sentences": p} for p in paragraphs], seed=args.seed)
    config = model.config
    optimizer = adam_optimizer(list(model.parameters()), 1e-4, torch.device("cpu"))  # the trainer's
    batches = _batches(paragraphs, processor, config, args.steps + 1, args.batch_size, args.seed)
    if args.full_layout:
        batches = [{k: v for k, v in batch.items() if k != "sentence_index"} for batch in batches]
        branch = model.local_branch
        full = type(branch).forward
        branch.forward = lambda s, v, mask, sentence_index=None: full(branch, s, v, mask)
        encode_all = type(model)._encode_words
        model._encode_words = lambda ids, mask, sentence_index=None: encode_all(model, ids, mask)

    def step(batch: dict) -> None:
        model(**batch).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step(batches[0])  # warm-up
    started = time.perf_counter()
    for batch in batches[1:]:
        step(batch)
    seconds = (time.perf_counter() - started) / args.steps
    with FlopCounterMode(display=False) as counter:  # the same steps again, untimed
        for batch in batches[1:]:
            step(batch)
    flops = counter.get_total_flops() / args.steps
    peak = matmul_flops(1024, torch.float32, torch.device("cpu"), repeats=3)
    num_steps = math.ceil(len(paragraphs) / args.batch_size)
    print(
        json.dumps(
            {
                "layout": "full" if args.full_layout else "real sentences",
                "threads": args.threads,
                "hidden_size": args.hidden_size,
                "tan_implementation": model.local_branch.temporal_adjacent_network.implementation,
                "reconstructor_layout": args.reconstructor_layout,
                "timed_steps": args.steps,
                "sentences_per_batch": [int(b["sentence_mask"].sum()) for b in batches[1:]],
                "slots_per_batch": [int(b["sentence_mask"].numel()) for b in batches[1:]],
                "seconds_per_step": seconds,
                "epoch_steps": num_steps,
                "epoch_minutes": num_steps * seconds / 60,
                "gflop_per_step": flops / 1e9,
                "achieved_gflops": flops / seconds / 1e9,
                "matmul_peak_gflops": peak / 1e9,
                "peak_fraction": flops / seconds / peak,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
