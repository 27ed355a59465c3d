"""Random features in a benchmark's official layout, for every video of its annotations (tests, smoke runs).

    python datasets_scripts/make_random_features.py charades_sta --annotations DIR --out /tmp/charades.hdf5 \
        --feature-dim 12 --clips-per-second 1

The number of rows per video is ``--num-frames`` (fixed, with optional ``--jitter``) or ``ceil(duration * rate)``.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

import numpy as np
from _common import DMRJRGError

from dmr_jrg_hf.data.builders import BENCHMARKS, make_builder
from dmr_jrg_hf.data.readers import FEATURE_LAYOUTS, write_random_features

__all__ = ["video_lengths"]


def video_lengths(
    name: str,
    annotations_dir: Path,
    num_frames: int | None = None,
    clips_per_second: float = 1.0,
    jitter: int = 0,
    seed: int = 0,
) -> dict[str, int]:
    """Video id -> number of feature rows for every video of the benchmark's annotations (all splits)."""
    with tempfile.TemporaryDirectory() as cache_dir:
        rows, _ = make_builder(name, annotations_dir, cache_dir=cache_dir).collect()
    durations = {row["video_id"]: row["duration"] for split_rows in rows.values() for row in split_rows}
    rng = np.random.default_rng(seed)
    if num_frames is None:
        return {video_id: max(1, math.ceil(duration * clips_per_second)) for video_id, duration in durations.items()}
    offsets = rng.integers(-jitter, jitter + 1, size=len(durations))
    return {video_id: max(1, num_frames + int(offset)) for video_id, offset in zip(durations, offsets, strict=True)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benchmark", choices=sorted(BENCHMARKS))
    parser.add_argument("--annotations", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path, help=".hdf5 file, or a folder for --layout npy")
    parser.add_argument("--layout", choices=FEATURE_LAYOUTS, default=None, help="default: the benchmark's own")
    parser.add_argument("--feature-dim", type=int, default=500)
    parser.add_argument("--num-frames", type=int, default=None, help="fixed rows per video (else from duration)")
    parser.add_argument("--jitter", type=int, default=0, help="uniform +- jitter on --num-frames")
    parser.add_argument("--clips-per-second", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        lengths = video_lengths(
            args.benchmark, args.annotations, args.num_frames, args.clips_per_second, args.jitter, args.seed
        )
        layout = args.layout or BENCHMARKS[args.benchmark].SPEC.feature_layout
        write_random_features(lengths, args.out, layout=layout, feature_dim=args.feature_dim, seed=args.seed)
    except DMRJRGError as error:
        print(f"make_random_features.py: error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {len(lengths):,} videos ({sum(lengths.values()):,} rows, D={args.feature_dim}) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
