"""Realistic simulated features for a real benchmark's annotations, in its official layout (`data.realistic`).

    python datasets_scripts/make_realistic_features.py charades_sta --annotations ../shared/benchmarks/charades_sta \
        --out /tmp/charades_realistic.hdf5 --feature-dim 1024

The file holds every video of every split; `load_benchmark`, `dmr-jrg prepare` and `dmr-jrg train` read it as they
read the official features.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from _common import DMRJRGError

from dmr_jrg_hf.data.builders import BENCHMARKS
from dmr_jrg_hf.data.readers import FEATURE_LAYOUTS
from dmr_jrg_hf.data.realistic import RealisticFeatureConfig, generate_realistic_features


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    defaults = RealisticFeatureConfig()
    parser.add_argument("benchmark", choices=sorted(BENCHMARKS))
    parser.add_argument("--annotations", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path, help=".hdf5 file, or a folder for --layout npy")
    parser.add_argument("--layout", choices=FEATURE_LAYOUTS, default=None, help="default: the benchmark's own")
    parser.add_argument("--feature-dim", type=int, default=defaults.feature_dim)
    parser.add_argument("--frames-per-second", type=float, default=defaults.frames_per_second)
    parser.add_argument("--noise-std", type=float, default=defaults.noise_std)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        config = RealisticFeatureConfig(
            feature_dim=args.feature_dim,
            frames_per_second=args.frames_per_second,
            noise_std=args.noise_std,
            seed=args.seed,
        )
        summary = generate_realistic_features(args.benchmark, args.annotations, args.out, config, layout=args.layout)
    except DMRJRGError as error:
        print(f"make_realistic_features.py: error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
