"""Realistic simulated features for a real benchmark's annotations: its videos, durations, paragraphs and moments.

The embedded synthetic benchmark (`data.synthetic`) has 38 templated words; results on it say little about
Charades-STA or ActivityNet. This generator takes one of the real benchmarks' annotation folders (the files of DESIGN
§2) and writes features for exactly its videos, in that benchmark's official layout, so `load_benchmark`, `prepare`
and `dmr-jrg train` read them unchanged. Only the features are simulated:

- **meaning**: a sentence's meaning is a fixed random nonlinear map of a sentence embedding, ``unit(W2 tanh(W1 e))``
  (`SentenceMeaning`). The embedding ``e`` is the IDF-weighted mean of seeded random word vectors (a word's vector
  comes from a hash of the word, so nothing is downloaded and the same word always gets the same vector), so sentences
  that share their informative words mean similar things, as in the real data;
- **annotated time**: every feature row whose time falls inside an annotated moment shows the meaning of that moment's
  sentence (the normalised sum where moments overlap, e.g. Charades-STA's re-described intervals, or two annotators
  of one ActivityNet video);
- **other time**: time that no sentence covers shows other activity of the same strength: the meanings of random
  sentences of other videos, in segments as long as this video's moments;
- **scene**: each video adds its own random direction to every row; **noise**: Gaussian, per row.

Every row has the same norm before noise, whether annotated or not, so feature energy does not mark the annotated
moments: a query-free saliency rule scores like a fixed window, while the sentence, read through its meaning, finds its
moment (`oracle_grounding_moments`, the upper reference: it knows the meaning map).
"""

from __future__ import annotations

import logging
import math
import re
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..feature_extraction_dmr_jrg import average_to_length
from ..geometry import cells_to_seconds
from ..metrics.baselines import max_sum_stretches
from ..validation import check_positive_int
from .builders import BENCHMARKS, make_builder
from .readers import write_features

__all__ = [
    "RealisticFeatureConfig",
    "SentenceMeaning",
    "generate_realistic_features",
    "load_sentence_meaning",
    "oracle_grounding_moments",
]

logger = logging.getLogger(__name__)

_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class RealisticFeatureConfig:
    """Sizes and strengths of the simulated features.

    Args:
        feature_dim (int, default 1024): D of every feature row.
        frames_per_second (float, default 1.0): feature rows per second of video (``ceil(duration * fps)`` rows).
        embedding_dim (int, default 256): dimension of the random word vectors and sentence embeddings.
        hidden_dim (int, default 512): width of the random nonlinear meaning map.
        activity_weight (float, default 1.0): weight of the activity (annotated or other) in a row.
        scene_weight (float, default 0.7): weight of the video's own scene direction in a row.
        noise_std (float, default 1.0): Gaussian noise of a row, as a norm relative to the unit signal (each value
            gets ``noise_std / sqrt(feature_dim)``).
        seed (int, default 0): seed of word vectors, meaning map, scenes, fillers and noise.
    """

    feature_dim: int = 1024
    frames_per_second: float = 1.0
    embedding_dim: int = 256
    hidden_dim: int = 512
    activity_weight: float = 1.0
    scene_weight: float = 0.7
    noise_std: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("feature_dim", "embedding_dim", "hidden_dim"):
            check_positive_int(getattr(self, name), f"RealisticFeatureConfig.{name}", ConfigError)
        for name in ("frames_per_second", "activity_weight"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"RealisticFeatureConfig.{name} must be > 0, got {getattr(self, name)!r}")
        for name in ("scene_weight", "noise_std"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"RealisticFeatureConfig.{name} must be >= 0, got {getattr(self, name)!r}")


def _words(sentence: str) -> list[str]:
    return _WORD.findall(sentence.lower())


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


class SentenceMeaning:
    """The fixed random map from a sentence to the unit direction its moment shows in the features.

    ``meaning(s) = unit(W2 tanh(W1 e(s)))``, with ``e(s) = unit(sum_w idf(w) v_w)`` over the words of ``s``. The map
    is odd, so unrelated sentences get near-orthogonal meanings; ``v_w`` is a standard normal vector seeded by
    ``crc32(w)`` and the config's seed, and ``idf(w) = log(1 + N / n_w)`` over the benchmark's N sentences.

    Args:
        sentences (Sequence[str]): every sentence of the benchmark (all splits): the IDF corpus.
        config (RealisticFeatureConfig): sizes and seed.
    """

    def __init__(self, sentences: Sequence[str], config: RealisticFeatureConfig):
        self.config = config
        counts = Counter(word for sentence in sentences for word in set(_words(sentence)))
        self._idf = {word: math.log(1.0 + len(sentences) / count) for word, count in counts.items()}
        self._default_idf = math.log(1.0 + max(len(sentences), 1))
        self._word_vectors: dict[str, np.ndarray] = {}
        rng = np.random.default_rng([config.seed, 1])
        self.input_weight = rng.standard_normal((config.embedding_dim, config.hidden_dim)) * (
            2.0 / math.sqrt(config.embedding_dim)
        )
        self.output_weight = rng.standard_normal((config.hidden_dim, config.feature_dim)) / math.sqrt(
            config.hidden_dim
        )

    def _word_vector(self, word: str) -> np.ndarray:
        if word not in self._word_vectors:
            rng = np.random.default_rng([self.config.seed, 2, zlib.crc32(word.encode("utf-8"))])
            self._word_vectors[word] = rng.standard_normal(self.config.embedding_dim)
        return self._word_vectors[word]

    def embed(self, sentences: Sequence[str]) -> np.ndarray:
        """Sentence embeddings ``e(s)``, float64 of shape (num_sentences, embedding_dim); zero for a wordless one."""
        embeddings = np.zeros((len(sentences), self.config.embedding_dim))
        for row, sentence in enumerate(sentences):
            for word in _words(sentence):
                embeddings[row] += self._idf.get(word, self._default_idf) * self._word_vector(word)
        return _unit(embeddings)

    def __call__(self, sentences: Sequence[str]) -> np.ndarray:
        """Meanings, float64 of shape (num_sentences, feature_dim), unit rows."""
        hidden = np.tanh(self.embed(sentences) @ self.input_weight)
        return _unit(hidden @ self.output_weight)


def _collect_videos(name: str, annotations_dir: Path, cache_dir: Path | None) -> tuple[dict, dict]:
    """Every video's duration and annotated (sentence, moment) pairs, over all splits, from the benchmark's builder."""
    builder = make_builder(name, annotations_dir, cache_dir=cache_dir)
    rows, _ = builder.collect()
    durations: dict[str, float] = {}
    moments: dict[str, list[tuple[str, float, float]]] = defaultdict(list)
    for split_rows in rows.values():
        for row in split_rows:
            durations[row["video_id"]] = float(row["duration"])
            moments[row["video_id"]].extend(
                (sentence, float(start), float(end))
                for sentence, (start, end) in zip(row["sentences"], row["timestamps"], strict=True)
            )
    return durations, moments


def _corpus(moments: Mapping[str, list[tuple[str, float, float]]]) -> list[str]:
    """Every annotated sentence of the benchmark, in a fixed order (video id, then annotation order)."""
    return [sentence for video_id in sorted(moments) for sentence, _, _ in moments[video_id]]


def load_sentence_meaning(
    name: str, annotations_dir: str | Path, config: RealisticFeatureConfig, cache_dir: str | Path | None = None
) -> SentenceMeaning:
    """The `SentenceMeaning` that `generate_realistic_features` uses for this benchmark and config (for the oracle)."""
    _, moments = _collect_videos(name, Path(annotations_dir), Path(cache_dir) if cache_dir else None)
    return SentenceMeaning(_corpus(moments), config)


def _row_times(duration: float, frames_per_second: float) -> np.ndarray:
    """Centre time (s) of each feature row of a video: ``ceil(duration * fps)`` rows (at least one)."""
    num_rows = max(1, math.ceil(duration * frames_per_second - 1e-9))
    return (np.arange(num_rows) + 0.5) * (duration / num_rows)


def _filler_segments(uncovered: np.ndarray, lengths: np.ndarray, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Split the uncovered rows into runs of consecutive rows, then each run into segments of ``lengths``-like size."""
    rows = np.flatnonzero(uncovered)
    runs = np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1) if len(rows) else []
    for run in runs:
        start = 0
        while start < len(run):
            size = max(1, int(round(rng.choice(lengths))))
            yield run[start : start + size]
            start += size


def _draw_other(corpus: Sequence[str], own: set[str], rng: np.random.Generator, max_tries: int = 100) -> str:
    """A random sentence of the corpus that does not describe this video (other activity of the same kind)."""
    for _ in range(max_tries):
        sentence = corpus[int(rng.integers(len(corpus)))]
        if sentence not in own:
            break
    return sentence


def _video_features(
    duration: float,
    moments: list[tuple[str, float, float]],
    meaning: SentenceMeaning,
    corpus: Sequence[str],
    rng: np.random.Generator,
) -> np.ndarray:
    """One video's (num_rows, D) features: annotated moments, other activity elsewhere, its scene, noise."""
    config = meaning.config
    times = _row_times(duration, config.frames_per_second)
    sentences = [sentence for sentence, _, _ in moments]
    bounds = np.asarray([(start, end) for _, start, end in moments], dtype=np.float64).reshape(-1, 2)
    covers = (times[None, :] >= bounds[:, :1]) & (times[None, :] <= bounds[:, 1:])  # (num_moments, num_rows)
    # a moment shorter than one row still shows in the row nearest to its centre
    nearest = np.abs(times[None, :] - bounds.mean(axis=1, keepdims=True)).argmin(axis=1)
    covers[np.arange(len(moments)), nearest] = True
    activity = covers.T.astype(np.float64) @ meaning(sentences)  # (num_rows, D), summed where moments overlap
    rows_per_second = len(times) / duration
    lengths = np.maximum(1.0, (bounds[:, 1] - bounds[:, 0]) * rows_per_second)
    segments = list(_filler_segments(~covers.any(axis=0), lengths, rng))
    if segments:
        own = set(sentences)
        picks = [_draw_other(corpus, own, rng) for _ in segments]
        for segment, direction in zip(segments, meaning(picks), strict=True):
            activity[segment] = direction
    scene = _unit(rng.standard_normal(config.feature_dim))
    rows = _unit(config.activity_weight * _unit(activity) + config.scene_weight * scene)
    noise = rng.standard_normal(rows.shape) * (config.noise_std / math.sqrt(config.feature_dim))
    return (rows + noise).astype(np.float32)


def generate_realistic_features(
    name: str,
    annotations_dir: str | Path,
    output: str | Path,
    config: RealisticFeatureConfig | None = None,
    *,
    layout: str | None = None,
    video_ids: Sequence[str] | None = None,
    cache_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Write simulated features for the videos of a real benchmark's annotations, in its official layout.

    Args:
        name (str): ``"activitynet_captions"``, ``"charades_sta"`` or ``"tacos"``.
        annotations_dir (str or Path): the benchmark's annotation folder (e.g. ``../shared/benchmarks/charades_sta``).
        output (str or Path): the feature file (``.hdf5``) or, for ``layout="npy"``, a folder.
        config (RealisticFeatureConfig, optional): sizes, strengths and seed.
        layout (str, optional): a `readers.FEATURE_LAYOUTS` entry; default the benchmark's own.
        video_ids (Sequence[str], optional): write these videos only (load the benchmark with
            ``missing_features="skip"``); default every video of every split.
        cache_dir (str or Path, optional): `datasets` cache folder of the builder that reads the annotations.

    Returns:
        dict: ``output``, ``layout``, ``num_videos``, ``num_rows``, ``feature_dim``, ``frames_per_second``, ``seed``.

    Raises:
        ConfigError: unknown benchmark, or a requested video that the annotations do not have.
    """
    config = config or RealisticFeatureConfig()
    if name not in BENCHMARKS:
        raise ConfigError(f"unknown benchmark {name!r}; choose one of {sorted(BENCHMARKS)}")
    layout = layout or BENCHMARKS[name].SPEC.feature_layout
    durations, moments = _collect_videos(name, Path(annotations_dir), Path(cache_dir) if cache_dir else None)
    selected = sorted(durations) if video_ids is None else list(dict.fromkeys(video_ids))
    unknown = [video_id for video_id in selected if video_id not in durations]
    if unknown:
        raise ConfigError(f"{name}: {len(unknown)} requested videos are not in the annotations (first: {unknown[:5]})")
    corpus = _corpus(moments)
    meaning = SentenceMeaning(corpus, config)
    num_rows = 0

    def videos() -> Iterator[tuple[str, np.ndarray]]:
        nonlocal num_rows
        for video_id in selected:
            rng = np.random.default_rng([config.seed, 3, zlib.crc32(video_id.encode("utf-8"))])
            features = _video_features(durations[video_id], moments[video_id], meaning, corpus, rng)
            num_rows += len(features)
            yield video_id, features

    write_features(videos(), output, layout)
    summary = {
        "output": str(output),
        "layout": layout,
        "num_videos": len(selected),
        "num_rows": num_rows,
        "feature_dim": config.feature_dim,
        "frames_per_second": config.frames_per_second,
        "seed": config.seed,
    }
    logger.info("%s: wrote %d videos (%d rows, D=%d) to %s", name, len(selected), num_rows, config.feature_dim, output)
    return summary


def oracle_grounding_moments(
    rows: Sequence[Mapping[str, Any]],
    features: Mapping[str, np.ndarray],
    meaning: SentenceMeaning,
    num_clips: int,
) -> list[np.ndarray]:
    """Grounding by an oracle that knows the meaning map: the upper reference a text reader can approach.

    Per paragraph, the video's rows are L2-normalised and averaged to ``num_clips`` clips (the processor's clip grid),
    each clip is scored by its cosine with the sentence's meaning, and the contiguous stretch maximising the sum of
    ``score - threshold`` (``threshold`` half the best clip score: a clip that shows the sentence alone scores about
    twice one that shares it with an overlapping moment's) is returned in seconds by the grid rule.

    Args:
        rows (Sequence[Mapping]): paragraph rows (``video_id``, ``duration``, ``sentences``).
        features (Mapping[str, np.ndarray]): video id -> (T, D) features (e.g. ``load_benchmark(...).features``).
        meaning (SentenceMeaning): the map the features were generated with.
        num_clips (int): K, the grid the moments snap to.

    Returns:
        list[np.ndarray]: per paragraph, float64 (num_sentences, 2) ``[start, end]`` seconds.
    """
    moments = []
    for row in rows:
        clips = _unit(average_to_length(_unit(np.asarray(features[row["video_id"]], np.float64)), num_clips))
        similarity = meaning(row["sentences"]) @ clips.T  # (num_sentences, num_clips)
        cells = max_sum_stretches(similarity - 0.5 * similarity.max(axis=1, keepdims=True))
        moments.append(cells_to_seconds(cells[:, 0], cells[:, 1], row["duration"], num_clips))
    return moments
