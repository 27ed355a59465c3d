"""Embedded synthetic VPRG benchmark (DESIGN §6): seeded videos of event prototypes with ordered templated paragraphs.

Every video is a timeline of activity segments covering it from start to end. Each segment shows one action on one
object (a fixed random prototype direction per action/object combination); the video shows one scene (its direction
plus a per-video appearance) in every frame. A random subset of the segments is annotated: the paragraph describes them
in chronological order with templated sentences ("the person opens the box in the kitchen"); the other segments are
unannotated distractor activity from the same prototype family. Neighbouring segments sometimes overlap (the frames of
the overlap blend both prototypes). Frames are ``gain * norm * unit(activity + scene) + noise`` with the same ``norm``
everywhere, a slowly drifting gain and Gaussian noise.

No query-free shortcut: which segments are annotated is drawn independently of their content, length and position,
every frame has the same norm before gain and noise whether annotated or not, and the drifting gain (which the
processor's per-frame L2 normalisation removes) swamps the small norm dips where pooled clips straddle two segments.
So feature energy says nothing about where a sentence's moment is: a query-free saliency rule scores like a fixed
window, while reading the sentence (action + object words -> prototype) finds the moment. The annotated moments cover
5-50 % of their video (before overlap) at varied positions, so fixed windows are weak too.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass

import datasets
import numpy as np

from ..errors import ConfigError, InputError
from ..geometry import cells_to_seconds
from ..metrics.baselines import max_sum_stretches, pool_clips

__all__ = [
    "ACTIONS",
    "OBJECTS",
    "SCENES",
    "SPLITS",
    "SyntheticBenchmark",
    "SyntheticBenchmarkConfig",
    "generate_synthetic_benchmark",
    "oracle_grounding_moments",
]

SPLITS: tuple[str, ...] = ("train", "validation", "test")
ACTIONS: tuple[str, ...] = (
    "opens",
    "closes",
    "picks up",
    "puts down",
    "washes",
    "holds",
    "carries",
    "cleans",
    "throws",
    "pushes",
    "fixes",
    "paints",
)
OBJECTS: tuple[str, ...] = (
    "door",
    "box",
    "cup",
    "bag",
    "book",
    "bottle",
    "laptop",
    "towel",
    "phone",
    "chair",
    "ball",
    "basket",
)
SCENES: tuple[str, ...] = (
    "kitchen",
    "garage",
    "office",
    "garden",
    "bedroom",
    "living room",
    "gym",
    "classroom",
    "hallway",
    "workshop",
)
SUBJECTS: tuple[str, ...] = ("the person", "the man", "the woman", "someone")
FIRST_TEMPLATES: tuple[str, ...] = (
    "{subject} {action} the {object} in the {scene}",
    "in the {scene} {subject} {action} the {object}",
)
NEXT_TEMPLATES: tuple[str, ...] = (
    "then {subject} {action} the {object}",
    "after that {subject} {action} the {object}",
    "next {subject} {action} the {object} in the {scene}",
    "{subject} {action} the {object}",
)
# Weight of the per-video appearance against the scene direction, and the overlap range as a fraction of the next
# segment: fixed shape parameters of the generator (sizes and strengths are in the config).
_SCENE_APPEARANCE_WEIGHT = 0.5
_OVERLAP_RANGE = (0.2, 0.5)
_MAX_PARTITION_TRIES = 100


@dataclass(frozen=True)
class SyntheticBenchmarkConfig:
    """Sizes, strengths and probabilities of the synthetic benchmark; defaults suit a 2-4 minute CPU demo.

    Args:
        num_train_videos (int, default 400): videos (one paragraph each) in the ``train`` split.
        num_validation_videos (int, default 50): videos in the ``validation`` split.
        num_test_videos (int, default 100): videos in the ``test`` split.
        feature_dim (int, default 64): D, the dimension of every frame feature.
        frames_per_second (float, default 1.0): feature rate; a video has ``round(duration * fps)`` frames (>= 1).
        min_duration (float, default 20.0): shortest video, seconds.
        max_duration (float, default 120.0): longest video, seconds.
        min_sentences (int, default 2): fewest sentences (annotated events) per paragraph.
        max_sentences (int, default 8): most sentences per paragraph.
        min_moment_ratio (float, default 0.05): shortest activity segment as a fraction of its video.
        max_moment_ratio (float, default 0.5): longest activity segment (before overlap) as a fraction of its video.
        num_actions (int, default 8): actions used, the first ones of ``ACTIONS``.
        num_objects (int, default 8): objects used, the first ones of ``OBJECTS``.
        num_scenes (int, default 6): scenes used, the first ones of ``SCENES``.
        activity_strength (float, default 1.0): weight of the activity (event prototype) part of a frame.
        scene_strength (float, default 1.0): weight of the per-video scene appearance, the same in every frame.
            Before gain and noise every frame is rescaled to the norm ``sqrt(activity_strength**2 +
            scene_strength**2)``, so the two weights set the mix, not the energy.
        noise_std (float, default 0.1): standard deviation of the i.i.d. Gaussian noise per feature dimension.
        gain_std (float, default 0.15): standard deviation of the log of a slowly drifting per-frame gain
            (brightness / motion energy) that scales every frame before noise, independent of the annotation.
        gain_timescale (float, default 8.0): correlation time of that drift in seconds (Gaussian-smoothed noise).
        overlap_probability (float, default 0.2): chance that a segment runs on into the next one (blended frames).
        distractor_probability (float, default 0.3): chance that each gap around the annotated events (before the
            first, between two, after the last) holds an unannotated distractor segment; at least one always does.
        seed (int, default 0): seed of everything; the same config gives identical features and rows.

    Raises:
        ConfigError: a field outside its range, naming the field.
    """

    num_train_videos: int = 400
    num_validation_videos: int = 50
    num_test_videos: int = 100
    feature_dim: int = 64
    frames_per_second: float = 1.0
    min_duration: float = 20.0
    max_duration: float = 120.0
    min_sentences: int = 2
    max_sentences: int = 8
    min_moment_ratio: float = 0.05
    max_moment_ratio: float = 0.5
    num_actions: int = 8
    num_objects: int = 8
    num_scenes: int = 6
    activity_strength: float = 1.0
    scene_strength: float = 1.0
    noise_std: float = 0.1
    gain_std: float = 0.15
    gain_timescale: float = 8.0
    overlap_probability: float = 0.2
    distractor_probability: float = 0.3
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("num_train_videos", "num_validation_videos", "num_test_videos"):
            _check(name, getattr(self, name) >= 0, "an int >= 0", getattr(self, name))
        _check("feature_dim", self.feature_dim >= 1, "an int >= 1", self.feature_dim)
        for name in ("frames_per_second", "min_duration", "activity_strength"):
            _check(name, getattr(self, name) > 0, "> 0", getattr(self, name))
        _check("max_duration", self.max_duration >= self.min_duration, ">= min_duration", self.max_duration)
        _check("min_sentences", self.min_sentences >= 1, "an int >= 1", self.min_sentences)
        _check("max_sentences", self.max_sentences >= self.min_sentences, ">= min_sentences", self.max_sentences)
        for name, limit in (("num_actions", ACTIONS), ("num_objects", OBJECTS), ("num_scenes", SCENES)):
            _check(name, 1 <= getattr(self, name) <= len(limit), f"in [1, {len(limit)}]", getattr(self, name))
        for name in ("overlap_probability", "distractor_probability"):
            _check(name, 0.0 <= getattr(self, name) <= 1.0, "in [0, 1]", getattr(self, name))
        _check("gain_timescale", self.gain_timescale > 0, "> 0", self.gain_timescale)
        for name in ("scene_strength", "noise_std", "gain_std"):
            _check(name, getattr(self, name) >= 0, ">= 0", getattr(self, name))
        self._check_partition()

    def _check_partition(self) -> None:
        most_segments = 2 * self.max_sentences + 1
        _check(
            "min_moment_ratio",
            0 < self.min_moment_ratio * most_segments <= 1,
            f"in (0, 1/{most_segments}]",
            self.min_moment_ratio,
        )
        fewest_segments = self.min_sentences + 1
        _check(
            "max_moment_ratio",
            self.max_moment_ratio * fewest_segments >= 1 and self.max_moment_ratio <= 1,
            f"in [1/{fewest_segments}, 1]",
            self.max_moment_ratio,
        )
        _check(
            "max_sentences",
            most_segments <= self.num_actions * self.num_objects,
            "<= (num_actions * num_objects - 1) / 2 so that a video's segments show distinct combinations",
            self.max_sentences,
        )


def _check(name: str, condition: bool, expected: str, value: object) -> None:
    if not condition:
        raise ConfigError(f"SyntheticBenchmarkConfig.{name} must be {expected}, got {value!r}")


@dataclass(frozen=True)
class SyntheticBenchmark:
    """A generated benchmark: paragraph rows per split, per-video features and the generator's ground truth.

    Attributes:
        config (SyntheticBenchmarkConfig): the config it was generated from.
        paragraphs (dict[str, list[dict]]): per split (``SPLITS``), one paragraph row per video (DESIGN §2:
            ``video_id``, ``duration``, ``sentences`` in chronological order of their events, ``timestamps``).
        features (dict[str, np.ndarray]): video id -> float32 array (num_frames, feature_dim), all splits.
        vocabulary (tuple[str, ...]): every word the sentences can use, sorted.
        prototypes (np.ndarray of shape (num_actions, num_objects, feature_dim)): unit event directions.
        sentence_events (dict[str, np.ndarray]): video id -> int array (num_sentences, 2) of the (action, object)
            index of each sentence's event, for oracles and analysis (models never see it).
    """

    config: SyntheticBenchmarkConfig
    paragraphs: dict[str, list[dict]]
    features: dict[str, np.ndarray]
    vocabulary: tuple[str, ...]
    prototypes: np.ndarray
    sentence_events: dict[str, np.ndarray]

    def event_prototypes(self, video_id: str) -> np.ndarray:
        """Unit prototype directions of the events a video's sentences describe, shape (num_sentences, feature_dim)."""
        if video_id not in self.sentence_events:
            raise InputError(f"unknown synthetic video '{video_id}'")
        events = self.sentence_events[video_id]
        return self.prototypes[events[:, 0], events[:, 1]]

    def to_dataset_dict(self) -> datasets.DatasetDict:
        """The paragraph rows as a `datasets.DatasetDict` with one `Dataset` per split.

        Returns:
            datasets.DatasetDict: columns ``video_id`` (string), ``duration`` (float64), ``sentences`` (list of
            string), ``timestamps`` (list of ``[start, end]`` float64 pairs).

        Example:
            >>> benchmark = generate_synthetic_benchmark(num_train_videos=2, num_test_videos=1)
            >>> benchmark.to_dataset_dict()["train"].num_rows
            2
        """
        features = datasets.Features(
            {
                "video_id": datasets.Value("string"),
                "duration": datasets.Value("float64"),
                "sentences": datasets.List(datasets.Value("string")),
                "timestamps": datasets.List(datasets.List(datasets.Value("float64"), length=2)),
            }
        )
        columns = {
            split: {name: [row[name] for row in rows] for name in features} for split, rows in self.paragraphs.items()
        }
        return datasets.DatasetDict(
            {split: datasets.Dataset.from_dict(data, features=features) for split, data in columns.items()}
        )

    def videos_dataset(self, split: str | None = None) -> datasets.Dataset:
        """The video features as a `datasets.Dataset` (all splits, or the videos of one split).

        Returns:
            datasets.Dataset: columns ``video_id`` (string) and ``features`` (``Array2D((None, feature_dim),
            "float32")``).
        """
        if split is None:
            video_ids = list(self.features)
        else:
            video_ids = [row["video_id"] for row in self._rows(split)]
        features = datasets.Features(
            {
                "video_id": datasets.Value("string"),
                "features": datasets.Array2D(shape=(None, self.config.feature_dim), dtype="float32"),
            }
        )
        data = {"video_id": video_ids, "features": [self.features[video_id] for video_id in video_ids]}
        return datasets.Dataset.from_dict(data, features=features)

    def _rows(self, split: str) -> list[dict]:
        if split not in self.paragraphs:
            raise InputError(f"unknown split '{split}'; choose one of {list(self.paragraphs)}")
        return self.paragraphs[split]


def generate_synthetic_benchmark(config: SyntheticBenchmarkConfig | None = None, **overrides) -> SyntheticBenchmark:
    """Generate the synthetic VPRG benchmark; deterministic for a config (seed included).

    Each video draws its own generator from ``(seed, split, index)``, so a split does not change when another split
    grows, and the event prototypes are shared by all splits.

    Args:
        config (SyntheticBenchmarkConfig, optional): defaults to `SyntheticBenchmarkConfig()`.
        **overrides: fields replaced on the config, e.g. ``num_train_videos=50, seed=3``.

    Returns:
        SyntheticBenchmark: rows per split (video ids ``syn_<split>_<index>``), features and ground truth.

    Raises:
        ConfigError: an unknown override or a field outside its range.

    Example:
        >>> benchmark = generate_synthetic_benchmark(num_train_videos=4, num_validation_videos=1, num_test_videos=2)
        >>> [len(benchmark.paragraphs[split]) for split in ("train", "validation", "test")]
        [4, 1, 2]
    """
    config = _resolve_config(config, overrides)
    prototypes, scenes = _draw_prototypes(config)
    paragraphs: dict[str, list[dict]] = {}
    features: dict[str, np.ndarray] = {}
    sentence_events: dict[str, np.ndarray] = {}
    sizes = (config.num_train_videos, config.num_validation_videos, config.num_test_videos)
    for split_index, (split, size) in enumerate(zip(SPLITS, sizes, strict=True)):
        paragraphs[split] = []
        for index in range(size):
            video_id = f"syn_{split}_{index:05d}"
            rng = np.random.default_rng([config.seed, split_index + 1, index])
            row, features[video_id], sentence_events[video_id] = _generate_video(config, prototypes, scenes, rng)
            paragraphs[split].append({"video_id": video_id, **row})
    return SyntheticBenchmark(config, paragraphs, features, _vocabulary(config), prototypes, sentence_events)


def oracle_grounding_moments(benchmark: SyntheticBenchmark, split: str, num_clips: int) -> list[np.ndarray]:
    """Grounding by an oracle that knows each sentence's event prototype: an upper reference for text readers.

    Per sentence, the video is pooled to ``num_clips`` clips (`metrics.baselines.pool_clips`), each clip is scored by
    its dot product with the prototype, and the contiguous stretch maximising the sum of ``score - threshold`` is
    returned by the grid rule, with ``threshold`` halfway between the video's median and best clip score. It shows
    that the annotation is visible to whoever maps the sentence to its event.

    Args:
        benchmark (SyntheticBenchmark): a generated benchmark.
        split (str): one of its splits.
        num_clips (int): K, the grid the moments snap to (a large K approaches frame resolution).

    Returns:
        list[np.ndarray]: per paragraph of the split, float64 (num_sentences, 2) ``[start, end]`` seconds.
    """
    moments = []
    for row in benchmark._rows(split):
        clips = pool_clips(benchmark.features[row["video_id"]], num_clips)  # (num_clips, feature_dim)
        similarity = benchmark.event_prototypes(row["video_id"]) @ clips.T  # (num_sentences, num_clips)
        threshold = 0.5 * (similarity.max(axis=1) + np.median(similarity, axis=1))  # (num_sentences,)
        cells = max_sum_stretches(similarity - threshold[:, None])  # (num_sentences, 2)
        moments.append(cells_to_seconds(cells[:, 0], cells[:, 1], row["duration"], num_clips))
    return moments


def _resolve_config(config: SyntheticBenchmarkConfig | None, overrides: dict) -> SyntheticBenchmarkConfig:
    config = config or SyntheticBenchmarkConfig()
    names = {field.name for field in dataclasses.fields(SyntheticBenchmarkConfig)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ConfigError(f"unknown SyntheticBenchmarkConfig field(s) {unknown}; valid fields: {sorted(names)}")
    return dataclasses.replace(config, **overrides)


def _draw_prototypes(config: SyntheticBenchmarkConfig) -> tuple[np.ndarray, np.ndarray]:
    """Unit event prototypes (num_actions, num_objects, D) and scene directions (num_scenes, D).

    Note:
        An event prototype is the normalised sum of an action direction, an object direction and a direction of its
        own combination (all random Gaussian), so events sharing a word are related (cosine about 1/3) and the words
        can be learnt compositionally, while each combination keeps its own fixed direction.
    """
    rng = np.random.default_rng([config.seed, 0])
    dim = config.feature_dim
    actions = rng.standard_normal((config.num_actions, 1, dim))
    objects = rng.standard_normal((1, config.num_objects, dim))
    combinations = rng.standard_normal((config.num_actions, config.num_objects, dim))
    scenes = rng.standard_normal((config.num_scenes, dim))
    return _unit(actions + objects + combinations), _unit(scenes)


def _generate_video(
    config: SyntheticBenchmarkConfig, prototypes: np.ndarray, scenes: np.ndarray, rng: np.random.Generator
) -> tuple[dict, np.ndarray, np.ndarray]:
    """One video: its paragraph row (without id), float32 features (T, D) and (action, object) per sentence."""
    duration = round(float(rng.uniform(config.min_duration, config.max_duration)), 2)
    is_event = _segment_layout(config, rng)
    bounds = _segment_bounds(config, duration, len(is_event), rng)  # (S, 2) seconds
    combinations = rng.choice(config.num_actions * config.num_objects, size=len(is_event), replace=False)
    events = np.stack(np.divmod(combinations, config.num_objects), axis=1)  # (S, 2): (action, object)
    activity = _render_activity(bounds, prototypes[events[:, 0], events[:, 1]], duration, config)  # (T, D)
    scene = int(rng.integers(config.num_scenes))
    appearance = _unit(scenes[scene] + _SCENE_APPEARANCE_WEIGHT * _unit(rng.standard_normal(config.feature_dim)))
    frames = _unit(config.activity_strength * activity + config.scene_strength * appearance)  # (T, D)
    frame_norm = np.hypot(config.activity_strength, config.scene_strength)
    gain = _drifting_gain(len(frames), config, rng)  # (T,)
    features = (frame_norm * gain)[:, None] * frames + rng.normal(0.0, config.noise_std, frames.shape)
    sentences = _write_sentences(events[is_event], SCENES[scene], rng)
    row = {"duration": duration, "sentences": sentences, "timestamps": bounds[is_event].tolist()}
    return row, features.astype(np.float32), events[is_event]


def _segment_layout(config: SyntheticBenchmarkConfig, rng: np.random.Generator) -> np.ndarray:
    """Chronological kinds of the segments, bool (S,): True for an annotated event, False for a distractor."""
    counts = np.arange(config.min_sentences, config.max_sentences + 1)
    weights = 1.0 / (counts - config.min_sentences + 1)
    num_events = int(rng.choice(counts, p=weights / weights.sum()))
    has_distractor = rng.random(num_events + 1) < config.distractor_probability
    if not has_distractor.any():
        has_distractor[rng.integers(num_events + 1)] = True
    kinds = [[False] * int(gap) + [True] * (index < num_events) for index, gap in enumerate(has_distractor)]
    return np.asarray(list(itertools.chain.from_iterable(kinds)), dtype=bool)


def _segment_bounds(
    config: SyntheticBenchmarkConfig, duration: float, num_segments: int, rng: np.random.Generator
) -> np.ndarray:
    """``[start, end]`` seconds of segments tiling the video, some running on into the next; shape (S, 2)."""
    ends = np.minimum(duration * np.cumsum(_segment_ratios(config, num_segments, rng)), duration)
    ends[-1] = duration
    starts = np.concatenate([[0.0], ends[:-1]])
    runs_on = rng.random(num_segments - 1) < config.overlap_probability
    extension = rng.uniform(*_OVERLAP_RANGE, num_segments - 1) * (ends[1:] - starts[1:])
    ends[:-1] += np.where(runs_on, extension, 0.0)
    return np.round(np.stack([starts, ends], axis=1), 2)


def _segment_ratios(config: SyntheticBenchmarkConfig, num_segments: int, rng: np.random.Generator) -> np.ndarray:
    """Segment lengths as fractions of the video, each in [min_moment_ratio, max_moment_ratio], summing to 1."""
    spare = 1.0 - num_segments * config.min_moment_ratio
    for _ in range(_MAX_PARTITION_TRIES):
        ratios = config.min_moment_ratio + spare * rng.dirichlet(np.full(num_segments, 2.0))
        if ratios.max() <= config.max_moment_ratio:
            return ratios
    return np.full(num_segments, 1.0 / num_segments)


def _render_activity(
    bounds: np.ndarray, directions: np.ndarray, duration: float, config: SyntheticBenchmarkConfig
) -> np.ndarray:
    """Unit activity direction of every frame, (T, D): the normalised sum of the segments covering its centre."""
    num_frames = max(1, round(duration * config.frames_per_second))
    centres = (np.arange(num_frames) + 0.5) * duration / num_frames
    covers = (centres[:, None] >= bounds[None, :, 0]) & (centres[:, None] < bounds[None, :, 1])  # (T, S)
    covers[:, -1] |= centres >= bounds[-1, 0]  # rounding never leaves a frame uncovered
    return _unit(covers.astype(np.float64) @ directions)


def _drifting_gain(num_frames: int, config: SyntheticBenchmarkConfig, rng: np.random.Generator) -> np.ndarray:
    """Per-frame gain ``exp(eta)``, (T,): ``eta`` is white noise smoothed by a Gaussian of ``gain_timescale`` seconds,
    rescaled to standard deviation ``gain_std``."""
    width = config.gain_timescale * config.frames_per_second
    offsets = np.arange(-int(np.ceil(3 * width)), int(np.ceil(3 * width)) + 1)
    kernel = np.exp(-0.5 * (offsets / width) ** 2)
    white = rng.standard_normal(num_frames + len(offsets) - 1)
    eta = np.convolve(white, kernel / np.linalg.norm(kernel), mode="valid")  # (T,), unit variance
    return np.exp(config.gain_std * eta)


def _write_sentences(events: np.ndarray, scene: str, rng: np.random.Generator) -> list[str]:
    """Templated lower-case sentences of the annotated events, in their chronological order."""
    subject = SUBJECTS[rng.integers(len(SUBJECTS))]
    templates = [FIRST_TEMPLATES[rng.integers(len(FIRST_TEMPLATES))]]
    templates += [NEXT_TEMPLATES[index] for index in rng.integers(len(NEXT_TEMPLATES), size=len(events) - 1)]
    return [
        template.format(subject=subject, action=ACTIONS[action], object=OBJECTS[obj], scene=scene)
        for template, (action, obj) in zip(templates, events, strict=True)
    ]


def _vocabulary(config: SyntheticBenchmarkConfig) -> tuple[str, ...]:
    """Every word a sentence can contain under this config, sorted."""
    phrases = [*SUBJECTS, *FIRST_TEMPLATES, *NEXT_TEMPLATES, *ACTIONS[: config.num_actions]]
    phrases += [*OBJECTS[: config.num_objects], *SCENES[: config.num_scenes]]
    words = {word for phrase in phrases for word in phrase.split() if not word.startswith("{")}
    return tuple(sorted(words))


def _unit(vectors: np.ndarray) -> np.ndarray:
    """L2-normalise along the last axis."""
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)
