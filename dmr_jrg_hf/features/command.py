"""``dmr-jrg extract-features`` and the extraction options of ``dmr-jrg index --videos``: arguments and the run.

Only argparse and the defaults load at import (the command line builds its parser without torch or PyAV); the
extraction itself is imported when the command runs.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..errors import DataFormatError
from .spec import DEFAULT_ENCODER, DEFAULT_FPS

__all__ = [
    "add_extract_features_arguments",
    "add_extraction_arguments",
    "add_index_videos_arguments",
    "add_videos_encoder_arguments",
    "extraction_options",
    "features_of_videos",
    "run_extract_features",
]

_DTYPE_CHOICES = ("fp32", "bf16", "fp16")


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def add_extraction_arguments(parser: argparse.ArgumentParser, batch_flag: str = "--batch-size") -> None:
    """Options shared by ``extract-features`` and ``index --videos`` (device, dtype, workers, batch, length limit);
    ``batch_flag`` names the batch option (``index`` has its own ``--batch-size``)."""
    parser.add_argument(
        batch_flag, dest="frame_batch_size", type=_positive_int, default=32, help="rows per encoder batch"
    )
    parser.add_argument("--device", default="auto", help="auto (a CUDA GPU when there is one), cpu, cuda, cuda:N")
    parser.add_argument(
        "--dtype", default="fp32", choices=_DTYPE_CHOICES, help="encoder precision (features: float32)"
    )
    parser.add_argument(
        "--num-workers", type=_non_negative_int, default=0, help="processes that decode videos (0: this one)"
    )
    parser.add_argument(
        "--max-duration", type=_positive_number, help="skip videos longer than this many seconds (default: no limit)"
    )


def add_extract_features_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``dmr-jrg extract-features``."""
    parser.add_argument("videos", help="folder of video files, a video file, or a text file listing one path a line")
    parser.add_argument("--encoder", default=DEFAULT_ENCODER, help="Hub id or folder of a vision model")
    parser.add_argument("--fps", type=_positive_number, default=DEFAULT_FPS, help="feature rows per second")
    parser.add_argument(
        "--out", required=True, help="features.hdf5, or a folder for {video_id}.npy; skipped.jsonl goes beside it"
    )
    add_extraction_arguments(parser)
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def add_index_videos_arguments(parser: argparse.ArgumentParser) -> None:
    """The options ``dmr-jrg index`` adds for ``--videos`` (extraction, then indexing)."""
    parser.add_argument(
        "--videos",
        help="folder, file or list of video files: extract their features (into --features, default "
        "OUTPUT_DIR.features.hdf5 beside the index folder, resumable) and index them",
    )
    add_videos_encoder_arguments(parser)


def add_videos_encoder_arguments(parser: argparse.ArgumentParser) -> None:
    """The extraction options that go with ``--videos`` (``index``, ``app``): encoder, rate and
    `add_extraction_arguments` (batch flag ``--frame-batch-size``)."""
    parser.add_argument("--encoder", help="with --videos: vision encoder (default: the one the model was trained on)")
    parser.add_argument(
        "--fps", type=_positive_number, help="with --videos: feature rows per second (default: the model's)"
    )
    add_extraction_arguments(parser, batch_flag="--frame-batch-size")


def extraction_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of `extract_features` set by `add_extraction_arguments` (and ``--quiet``)."""
    return {
        "batch_size": args.frame_batch_size,
        "device": args.device,
        "dtype": args.dtype,
        "num_workers": args.num_workers,
        "max_duration": args.max_duration,
        "show_progress": not args.quiet,
    }


def run_extract_features(args: argparse.Namespace) -> int:
    """Run ``extract-features``: the report's counts as JSON on stdout; 0 unless no video at all could be decoded.

    Raises:
        DataFormatError: none of the videos could be decoded (their reasons are in ``skipped.jsonl``).
    """
    from .extraction import SKIPPED_FILE, extract_features

    report = extract_features(args.videos, args.out, encoder=args.encoder, fps=args.fps, **extraction_options(args))
    print(json.dumps(report.to_dict(), indent=2))
    if report.skipped and not (report.extracted or report.already_done):
        first = report.skipped[0]
        raise DataFormatError(
            f"none of the {len(report.skipped)} video(s) could be decoded (first: {first.path}: {first.reason}, "
            f"{first.detail}); every reason is in {SKIPPED_FILE} beside {args.out}"
        )
    return 0


def features_of_videos(processor, args: argparse.Namespace):
    """``index --videos``: extract (or reuse) the features of ``args.videos`` for the model of ``processor``
    (`dmr_jrg_hf.inference.video_features.features_for_index`); returns the reader of this run's videos."""
    from ..inference.video_features import features_for_index

    return features_for_index(
        processor, args.videos, args.output_dir, args.features, args.encoder, args.fps, **extraction_options(args)
    )
