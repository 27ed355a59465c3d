"""Shared command line of the ``prepare_<benchmark>.py`` scripts: raw files -> Hub-ready dataset folder."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

try:
    import dmr_jrg_hf  # noqa: F401
except ImportError:  # a plain checkout: make the package importable from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dmr_jrg_hf.errors import DMRJRGError

__all__ = ["build_parser", "run_prepare"]


def build_parser(name: str, description: str) -> argparse.ArgumentParser:
    """The arguments every prepare script takes (the same as ``dmr-jrg prepare <name>``)."""
    parser = argparse.ArgumentParser(
        prog=f"prepare_{name}.py", description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--annotations", required=True, type=Path, help="folder with the annotation files")
    parser.add_argument("--features", type=Path, default=None, help="HDF5 feature file or folder of {video_id}.npy")
    parser.add_argument("--out", required=True, type=Path, help="output folder (Hub-ready)")
    parser.add_argument("--feature-dim", type=int, default=None, help="expected feature dimension D")
    parser.add_argument("--dataset-key", default=None, help="dataset inside each video's HDF5 group")
    parser.add_argument("--missing-features", choices=("error", "skip"), default="error")
    parser.add_argument("--outside-moment", choices=("clamp", "drop"), default="clamp")
    parser.add_argument("--max-shard-mb", type=int, default=500, help="MiB of features per parquet shard")
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty output folder")
    return parser


def run_prepare(name: str, description: str, argv: list[str] | None = None, **extra_options) -> int:
    """Parses ``argv``, runs :func:`dmr_jrg_hf.data.prepare_benchmark` and prints the report summary."""
    from dmr_jrg_hf.data import prepare_benchmark

    parser = build_parser(name, description)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        report = prepare_benchmark(
            name,
            args.annotations,
            args.features,
            args.out,
            overwrite=args.overwrite,
            max_shard_size=args.max_shard_mb * 2**20,
            feature_dim=args.feature_dim,
            dataset_key=args.dataset_key,
            missing_features=args.missing_features,
            outside_moment=args.outside_moment,
            **extra_options,
        )
    except DMRJRGError as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 1
    print(report.summary())
    print(f"wrote {args.out}")
    return 0
