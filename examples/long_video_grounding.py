"""Measure chunk-and-merge grounding and long-video retrieval on long synthetic videos; prints markdown tables.

    dmr-jrg demo --epochs 3 --output-dir outputs/demo3      # a model trained on the short synthetic benchmark
    OMP_NUM_THREADS=1 python examples/long_video_grounding.py --model outputs/demo3 --threads 1

Every test paragraph of the synthetic benchmark (videos of 20-120 s) gets a long video of each requested length: its
own short video, at a random position, inside filler. The filler (``--filler``) is ``unrelated`` activity by default:
videos of the same generator with another seed (other event prototypes, other scenes), so the paragraph's events
happen once in the long video; ``benchmark`` fills with the other test videos of the benchmark instead, whose events
come from the same prototypes (a sentence may then also describe a filler event: a harder, ambiguous setting).

Grounding: R@1 at IoU 0.3 / 0.5 / 0.7 and mIoU over every sentence, in the long videos with chunking (windows at
the 95th percentile of the training durations, the processor's default, merged with window weights or unweighted; at
one length also the 50th and 100th percentile) and without it (the whole video pooled to K clips), next to the short
videos themselves and to each short video inside a stretch of one window of filler (the most a window can give with
this model). Retrieval: the corpus of the long videos, each paragraph's rank of its own long video, long videos scored
by their best window or by their pooled embedding.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np
import torch

from dmr_jrg_hf import DMRJRGProcessor
from dmr_jrg_hf.data.synthetic import generate_synthetic_benchmark
from dmr_jrg_hf.feature_extraction_dmr_jrg import long_video_defaults
from dmr_jrg_hf.inference import VideoCorpusIndex, encode_paragraphs, ground
from dmr_jrg_hf.inference.long_videos import LONG_VIDEO_RETRIEVAL
from dmr_jrg_hf.loading import load_pretrained
from dmr_jrg_hf.metrics.grounding import grounding_metrics
from dmr_jrg_hf.metrics.retrieval import retrieval_metrics_from_ranks

GROUNDING_COLUMNS = ("R@1,IoU=0.3", "R@1,IoU=0.5", "R@1,IoU=0.7", "mIoU")
RETRIEVAL_COLUMNS = ("R@1", "R@5", "R@10", "MedR")


def _filler_pool(benchmark, kind: str, seed: int) -> list[np.ndarray]:
    """Feature arrays to fill long videos with (``unrelated``: another generator seed; ``benchmark``: test videos)."""
    if kind == "benchmark":
        return [benchmark.features[row["video_id"]] for row in benchmark.paragraphs["test"]]
    other = generate_synthetic_benchmark(
        num_train_videos=0, num_validation_videos=0, num_test_videos=200, seed=seed + 1000
    )
    return list(other.features.values())


@dataclass(frozen=True)
class Example:
    """A video to ground a paragraph in: features (1 per second for the long ones), duration and true moments."""

    features: np.ndarray
    duration: float
    truth: np.ndarray


def _short_videos(rows, args) -> list[Example]:
    return [Example(args.features[r["video_id"]], r["duration"], np.asarray(r["timestamps"])) for r in rows]


def _long_videos(rows, args, pool, frames_of, seed: int) -> list[Example]:
    """Per row, ``frames_of(row, short_frames)`` frames of filler (1 per second) with the row's short video at a
    random frame; its moments move with it (scaled by the short video's own frame rate). ``seed`` picks the filler and
    the positions with ``args.seed``."""
    rng = np.random.default_rng([args.seed, seed])
    examples = []
    for position, row in enumerate(rows):
        features = args.features[row["video_id"]]
        num_frames = frames_of(row, len(features))
        filler, total = [], 0
        while total < num_frames - len(features):
            choice = int(rng.integers(len(pool)))
            if args.filler == "unrelated" or choice != position:  # the benchmark filler leaves out the video itself
                filler.append(pool[choice])
                total += len(pool[choice])
        filler = np.concatenate(filler)[: num_frames - len(features)] if filler else features[:0]
        start = int(rng.integers(len(filler) + 1))
        video = np.concatenate([filler[:start], features, filler[start:]])
        truth = start + np.asarray(row["timestamps"], dtype=np.float64) * len(features) / row["duration"]
        examples.append(Example(video, float(len(video)), truth))
    return examples


def _measure(model, processor, paragraphs, videos: list[Example], args, name: str) -> str:
    """Ground every paragraph in its video; the markdown row of R@1 / mIoU and the seconds it took."""
    started = time.perf_counter()
    groundings = ground(
        model,
        processor,
        paragraphs,
        [video.features for video in videos],
        [video.duration for video in videos],
        batch_size=args.batch_size,
    )
    seconds = time.perf_counter() - started
    predicted = np.array([[[s.moments[0].start, s.moments[0].end]] for g in groundings for s in g])
    sentence_paragraph = np.repeat(np.arange(len(paragraphs)), [len(p) for p in paragraphs])
    truths = np.concatenate([video.truth for video in videos])
    metrics = grounding_metrics(predicted, truths, sentence_paragraph, ks=(1,))
    return _row(name, metrics, GROUNDING_COLUMNS, f"{seconds:.1f}")


def _ranks(model, processor, index: VideoCorpusIndex, paragraphs, own_ids, mode: str) -> np.ndarray:
    queries = encode_paragraphs(model, processor, paragraphs)
    _, positions = index.search(queries, len(index), long_video_retrieval=mode)
    own = index.positions(own_ids)
    return 1 + np.argmax(positions == own[:, None], axis=1)


def _with(processor: DMRJRGProcessor, **changes) -> DMRJRGProcessor:
    """``processor`` with other ``long_video_*`` settings; a window keeps the threshold at least as long."""
    window = changes.get("long_video_window_seconds", processor.long_video_window_seconds)
    threshold = max(window or 0, processor.long_video_threshold_seconds)
    return processor.with_settings(**changes, long_video_threshold_seconds=threshold)


def _row(name: str, values: dict, columns, extra: str) -> str:
    cells = [f"{values[c]:.1f}" if c in values else "-" for c in columns]
    return f"| {name} | " + " | ".join(cells) + f" | {extra} |"


def _grounding_rows(model, processor, args, rows, pool, train_durations) -> list[str]:
    """Markdown rows: the short videos, each short video in a stretch of one window (the best a window can hold),
    then per length: no chunking, chunking with the processor's settings, chunking with an unweighted merge (and, at
    ``--sweep-length``, other windows)."""
    paragraphs = [row["sentences"] for row in rows]
    short = _short_videos(rows, args)
    lines = [_measure(model, processor, paragraphs, short, args, "short (20-120 s), whole")]
    window = processor.long_video_window_seconds
    padded = _long_videos(rows, args, pool, lambda row, frames: max(frames, round(window)), seed=1)
    lines.append(_measure(model, processor, paragraphs, padded, args, f"short in a {window:.0f} s stretch, whole"))
    sweep = {f"p{p}": round(float(np.percentile(train_durations, p)), 2) for p in (50, 100)}
    for length in args.lengths:
        videos = _long_videos(rows, args, pool, lambda row, frames, length=length: length, seed=length)
        settings = [
            ("whole (no chunking)", {"long_video_window_seconds": None}),
            (f"chunked, window p95 = {window} s (default)", {}),
            ("chunked, window p95, unweighted merge", {"long_video_relevance_temperature": None}),
        ]
        if length == args.sweep_length:
            settings += [
                (f"chunked, window {name} = {seconds} s", {"long_video_window_seconds": seconds})
                for name, seconds in sweep.items()
            ]
        for name, changes in settings:
            lines.append(_measure(model, _with(processor, **changes), paragraphs, videos, args, f"{length} s, {name}"))
    return lines


def _retrieval_rows(model, processor, args, rows, pool) -> list[str]:
    """Markdown rows: each paragraph's rank of its own video among the short videos, then among the long videos of
    each length with long videos scored by best window and by pooled embedding."""
    paragraphs = [row["sentences"] for row in rows]
    corpora = [("short (20-120 s)", _short_videos(rows, args), ("pooled",))]
    for length in args.lengths:
        videos = _long_videos(rows, args, pool, lambda row, frames, length=length: length, seed=length)
        corpora.append((f"{length} s", videos, LONG_VIDEO_RETRIEVAL))
    lines = []
    for name, videos, modes in corpora:
        ids = [f"v{i}" for i in range(len(videos))]
        started = time.perf_counter()
        features = {video_id: video.features for video_id, video in zip(ids, videos, strict=True)}
        durations = {video_id: video.duration for video_id, video in zip(ids, videos, strict=True)}
        index = VideoCorpusIndex.build(model, processor, features, durations, show_progress=False)
        seconds = time.perf_counter() - started
        for mode in modes:
            ranks = _ranks(model, processor, index, paragraphs, ids, mode)
            label = f"{name}, {mode}" if len(modes) > 1 else name
            lines.append(_row(label, retrieval_metrics_from_ranks(ranks), RETRIEVAL_COLUMNS, f"{seconds:.1f}"))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a model folder trained on the synthetic benchmark")
    parser.add_argument("--lengths", type=int, nargs="+", default=[600, 3600], help="long-video lengths, seconds")
    parser.add_argument("--sweep-length", type=int, default=600, help="the length also measured with other windows")
    parser.add_argument("--num-paragraphs", type=int, default=100, help="test paragraphs (at most 100)")
    parser.add_argument("--filler", choices=("unrelated", "benchmark"), default="unrelated")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--batch-size", type=int, default=4, help="(paragraph, video) pairs per forward pass")
    parser.add_argument("--seed", type=int, default=0, help="the benchmark's seed (the demo's) and the placements'")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    model, processor = load_pretrained(args.model)
    benchmark = generate_synthetic_benchmark(seed=args.seed)
    rows = benchmark.paragraphs["test"][: args.num_paragraphs]
    args.features = benchmark.features
    train_durations = np.array([row["duration"] for row in benchmark.paragraphs["train"]])
    if processor.long_video_window_seconds is None:  # saved before chunked grounding: its training durations' settings
        processor = DMRJRGProcessor.from_pretrained(args.model, **long_video_defaults(train_durations))
    pool = _filler_pool(benchmark, args.filler, args.seed)
    print(
        f"model {args.model} (K={processor.num_clips}, d={model.config.hidden_size}); {len(rows)} test paragraphs, "
        f"{sum(len(row['sentences']) for row in rows)} sentences; filler: {args.filler}; 1 feature per second; "
        f"torch threads: {torch.get_num_threads()}; windows of {processor.long_video_window_seconds} s overlapping by "
        f"{processor.long_video_overlap} above {processor.long_video_threshold_seconds} s\n"
    )
    print("| video, grounding | " + " | ".join(GROUNDING_COLUMNS) + " | seconds |")
    print("|---" * (len(GROUNDING_COLUMNS) + 2) + "|")
    for line in _grounding_rows(model, processor, args, rows, pool, train_durations):
        print(line, flush=True)
    print(f"\nRetrieval of each paragraph's own video among {len(rows)} videos:\n")
    print("| corpus, long-video scoring | " + " | ".join(RETRIEVAL_COLUMNS) + " | index build seconds |")
    print("|---" * (len(RETRIEVAL_COLUMNS) + 2) + "|")
    for line in _retrieval_rows(model, processor, args, rows, pool):
        print(line, flush=True)


if __name__ == "__main__":
    main()
