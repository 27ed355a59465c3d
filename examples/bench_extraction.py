"""Throughput and peak memory of `extract_features` on generated videos of growing length.

    OMP_NUM_THREADS=1 python examples/bench_extraction.py --minutes 10 60 --output outputs/bench_extraction.json
    python examples/bench_extraction.py --encoder openai/clip-vit-base-patch32 --device cuda --minutes 10

Each video (``--size`` pixels, ``--source-fps`` frames per second, moving stripes, MPEG-4 Part 2) is written with
PyAV, then extracted at ``--fps`` rows per second in a fresh process that reports its peak resident memory
(``ru_maxrss``) before and after the extraction. The default encoder is a tiny random CLIP vision tower (D = 16)
saved to a temporary folder, so the numbers measure decoding, sampling, preprocessing and writing, not a large model;
pass a Hub id or folder to measure a real encoder. Streaming keeps the peak flat: an hour-long video needs no more
memory than a ten-minute one, apart from its (T, D) float32 feature rows.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from dmr_jrg_hf.bench.random_encoder import save_random_clip_encoder


def _write_video(path: Path, seconds: float, source_fps: int, width: int, height: int) -> float:
    """A video of moving vertical stripes; returns the seconds it took to write."""
    import av

    start = time.perf_counter()
    columns = np.arange(width)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=source_fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(int(seconds * source_fps)):
            row = ((columns + index) % 16 < 8).astype(np.uint8) * 200 + 30  # (width,)
            image = np.repeat(np.broadcast_to(row, (height, width))[..., None], 3, axis=2)  # (height, width, 3)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")))
        container.mux(stream.encode())
    return time.perf_counter() - start


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _measure(args: argparse.Namespace) -> None:
    """Child process: load the encoder, extract one video, print the report and the peak RSS as JSON."""
    import av  # noqa: F401  (loaded before the baseline: FFmpeg's libraries are not what the video costs)
    import h5py  # noqa: F401
    import torch

    from dmr_jrg_hf.features import VisionEncoder, extract_features

    encoder = VisionEncoder.from_pretrained(args.encoder, device=args.device, dtype=args.dtype)
    before = _peak_rss_mib()
    output = args.work / f"{Path(args.measure).stem}.hdf5"
    report = extract_features(
        [args.measure], output, encoder, fps=args.fps, batch_size=args.batch_size, show_progress=False
    )
    result = {
        **report.to_dict(),
        "peak_rss_mib_after_loading": round(before, 1),
        "peak_rss_mib": round(_peak_rss_mib(), 1),
        "torch_threads": torch.get_num_threads(),
    }
    print(json.dumps(result))


def _run(args: argparse.Namespace) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        encoder = args.encoder or str(save_random_clip_encoder(work / "tiny-clip"))
        for minutes in args.minutes:
            video = work / f"video_{minutes:g}min.mp4"
            written = _write_video(video, minutes * 60, args.source_fps, *args.size)
            command = [sys.executable, __file__, "--measure", str(video), "--work", str(work), "--encoder", encoder]
            command += ["--fps", str(args.fps), "--batch-size", str(args.batch_size), "--device", args.device]
            command += ["--dtype", args.dtype]
            child = subprocess.run(command, capture_output=True, text=True, check=True)
            result = json.loads(child.stdout.strip().splitlines()[-1])
            decoded = minutes * 60 * args.source_fps / result["seconds"]
            result.update(minutes=minutes, video_mib=round(video.stat().st_size / 2**20, 2), seconds_to_write=written)
            result.update(size=list(args.size), source_fps=args.source_fps, decoded_frames_per_second=round(decoded))
            rows.append(result)
            print(
                f"{minutes:g} min: {result['frames_per_second']:.0f} frames/s ({decoded:.0f} decoded), "
                f"{result['video_seconds_per_second']:.0f} video-s/s, peak RSS {result['peak_rss_mib']:.0f} MiB "
                f"({result['peak_rss_mib_after_loading']:.0f} MiB after loading the encoder)",
                file=sys.stderr,
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, nargs="+", default=[10, 60], help="lengths of the generated videos")
    parser.add_argument("--source-fps", type=int, default=5, help="frame rate of the generated videos")
    parser.add_argument("--size", type=int, nargs=2, default=[64, 48], metavar=("WIDTH", "HEIGHT"))
    parser.add_argument("--fps", type=float, default=1.0, help="feature rows per second")
    parser.add_argument("--encoder", help="Hub id or folder (default: a tiny random CLIP vision tower)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="fp32", choices=["fp32", "bf16", "fp16"])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--output", help="also write the JSON report here")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # child process: the video to extract
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        _measure(args)
        return 0
    report = {"omp_num_threads": os.environ.get("OMP_NUM_THREADS", "unset"), "videos": _run(args)}
    text = json.dumps(report, indent=2)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
