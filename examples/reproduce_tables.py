"""Reproduce the paper's experiments on a realistic benchmark: Table IV's ablation rows, weak vs semi vs full
supervision, and paragraph vs single-sentence queries, at a chosen size, resuming where a previous call stopped.

    python examples/reproduce_tables.py --table all --benchmark charades --train-paragraphs 1000 \\
        --test-paragraphs 300 --epochs 1 --hidden-size 64 --learning-rate 3e-3 --threads 1 \\
        --output-dir outputs/tables/charades

Data: a seeded subset of the real annotations (``--annotations``, default ``../shared/benchmarks/<benchmark>``) with
simulated features for exactly its videos (`dmr_jrg_hf.data.realistic`, the generator's default config), written
once under ``--data-dir`` in the benchmark's official layout. Training: one ``dmr-jrg train`` subprocess per run, in
its own folder ``OUTPUT_DIR/runs/<objective>-<supervision>-<ablation>`` (logs included), without validation, so the
final weights are the last epoch's. Evaluation: the package's evaluation API on the test split (`evaluate_model`,
`evaluate_baselines`; single-sentence queries through `metrics.single_sentence_queries`).

Each step writes its JSON when it finishes and is skipped when that JSON exists: running the same command again
resumes. A training run killed after an epoch's checkpoint continues from it (``--resume latest``); one killed before
restarts (``--overwrite``); the wall time a table reports is then that of the last call's part. Rows whose resolved
configs are equal (e.g. the Table IV ``full`` row and the preset as shipped) share one run. Each table is written
after each of its rows as ``table_<name>.md``, ``table_<name>.json`` and (once complete) ``table_<name>.png`` (needs
matplotlib, the ``viz`` extra) in ``--output-dir``, with its sizes and seed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dmr_jrg_hf import ABLATION_PRESETS, DMRJRGConfig, load_benchmark

REPO = Path(__file__).resolve().parents[1]
SHARED_BENCHMARKS = REPO.parent / "shared" / "benchmarks"

# --benchmark -> (builder name, preset, annotation file of each split)
BENCHMARKS: dict[str, tuple[str, str, dict[str, str]]] = {
    "charades": (
        "charades_sta",
        "charades",
        {"train": "charades_sta_train.txt", "test": "charades_sta_test.txt"},
    ),
    "activitynet": (
        "activitynet_captions",
        "activitynet",
        {"train": "train.json", "validation": "val_1.json", "test": "val_2.json"},
    ),
}
TABLES = ("ablation", "supervision", "paragraph-vs-sentence")
OBJECTIVES = ("paper", "grounding")  # Table IV is run with each
EVAL_PROTOCOLS = ("retrieval", "grounding", "vprg")
# (column title, protocol, metric) of every table
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("GT R@1 IoU0.3", "grounding", "R@1,IoU=0.3"),
    ("GT R@1 IoU0.5", "grounding", "R@1,IoU=0.5"),
    ("GT R@1 IoU0.7", "grounding", "R@1,IoU=0.7"),
    ("GT mIoU", "grounding", "mIoU"),
    ("ret R@1", "retrieval", "R@1"),
    ("ret R@10", "retrieval", "R@10"),
    ("VPRG R@1 IoU0.5", "vprg", "R@1,IoU=0.5"),
    ("VPRG R@10 IoU0.5", "vprg", "R@10,IoU=0.5"),
)
# (protocol, metric, title) of the plot's panels
PLOTTED = (
    ("grounding", "R@1,IoU=0.5", "GT-video R@1, IoU 0.5 (%)"),
    ("vprg", "R@10,IoU=0.5", "VPRG R@10, IoU 0.5 (%)"),
)


# Rows and tables ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Training:
    """What one training run trains: objective, supervision and optionally a Table IV row (None: the preset)."""

    objective: str
    supervision: str = "weak"
    ablation: str | None = None

    @property
    def name(self) -> str:
        return f"{self.objective}-{self.supervision}-{self.ablation or 'preset'}"


@dataclass(frozen=True)
class Row:
    """A table row: a training, evaluated with whole paragraphs or with each sentence alone as the query."""

    label: str
    training: Training
    queries: str = "paragraph"


@dataclass(frozen=True)
class Goal:
    """A ratio of two rows' metric that the issue sets as a goal (``numerator / denominator >= threshold``)."""

    numerator: str
    denominator: str
    protocol: str
    metric: str
    threshold: float


DEFAULT_RECIPE = Training("grounding")


def table_rows(table: str, objectives: Sequence[str] = OBJECTIVES) -> list[Row]:
    """The rows of ``table``: ``ablation`` (Table IV, with each of ``objectives``), ``supervision``,
    ``paragraph-vs-sentence``."""
    if table == "ablation":
        return [
            Row(f"{objective} · {ablation}", Training(objective, ablation=ablation))
            for objective in objectives
            for ablation in ABLATION_PRESETS
        ]
    if table == "supervision":
        return [Row(supervision, Training("grounding", supervision)) for supervision in ("weak", "semi", "full")]
    if table == "paragraph-vs-sentence":
        return [Row("paragraph queries", DEFAULT_RECIPE), Row("single-sentence queries", DEFAULT_RECIPE, "sentence")]
    raise ValueError(f"unknown table {table!r}; choose one of {TABLES}")


TABLE_TITLES = {
    "ablation": "Table IV rows (ablation), paper objective (Eq. 23) and default grounding recipe, weak supervision",
    "supervision": "Weak vs semi vs full supervision, default recipe",
    "paragraph-vs-sentence": "Paragraph vs single-sentence queries, same model (default recipe, weak supervision)",
}
TABLE_GOALS = {
    "supervision": Goal("weak", "full", "grounding", "R@1,IoU=0.5", 0.8),
    "paragraph-vs-sentence": Goal("paragraph queries", "single-sentence queries", "vprg", "R@10,IoU=0.5", 1.5),
}


# Settings ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Everything a result depends on; a run folder written under other settings is never reused."""

    benchmark: str
    preset: str
    train_paragraphs: int
    test_paragraphs: int
    epochs: int
    hidden_size: int
    threads: int
    seed: int
    learning_rate: float | None = None

    @property
    def builder_name(self) -> str:
        return BENCHMARKS[self.benchmark][0]

    def config(self, training: Training) -> DMRJRGConfig:
        """The config ``dmr-jrg train`` builds for ``training`` (before it sets feature_dim from the data)."""
        return DMRJRGConfig.from_preset(
            self.preset,
            ablation=training.ablation,
            objective=training.objective,
            supervision=training.supervision,
            hidden_size=self.hidden_size,
            **({"learning_rate": self.learning_rate} if self.learning_rate else {}),
        )


def check_settings(output_dir: Path, settings: Settings) -> None:
    """Record the settings in ``output_dir/settings.json``, or refuse a folder that holds runs of other settings."""
    path = output_dir / "settings.json"
    if path.is_file():
        recorded, asked = read_json(path), asdict(settings)
        changed = {key: (recorded.get(key), value) for key, value in asked.items() if recorded.get(key) != value}
        if changed:
            raise SystemExit(f"{output_dir} holds runs of other settings ((recorded, asked): {changed})")
        return
    output_dir.mkdir(parents=True, exist_ok=True)
    write_json(path, asdict(settings))


def write_json(path: Path, payload: Any) -> None:
    """Write JSON atomically: a file that exists is complete."""
    staging = path.with_name(path.name + ".partial")
    staging.write_text(json.dumps(payload, indent=2) + "\n")
    staging.replace(path)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# Data --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subset:
    """A realistic subset on disk: official-layout annotations, simulated features and its counts."""

    folder: Path
    info: dict[str, Any]

    @property
    def annotations(self) -> Path:
        return self.folder / "annotations"

    @property
    def features(self) -> Path:
        return self.folder / "features.hdf5"


def _split_video_ids(paragraphs, split: str) -> list[str]:
    return sorted(set(paragraphs[split]["video_id"])) if split in paragraphs else []


def sample_videos(paragraphs, sizes: dict[str, int], seed: int) -> dict[str, list[str]]:
    """Seeded sample of ``sizes[split]`` videos per split (all of them when fewer; each split has its own generator,
    so the test videos do not depend on the training size); a validation split keeps the sampled test videos it has
    (ActivityNet's val_1 and val_2 describe the same videos)."""
    chosen = {}
    for split, size in sizes.items():
        rng = np.random.default_rng([seed, zlib.crc32(split.encode())])
        videos = _split_video_ids(paragraphs, split)
        chosen[split] = sorted(rng.choice(videos, size=min(size, len(videos)), replace=False).tolist())
    if "validation" in paragraphs:
        test = set(chosen["test"])
        chosen["validation"] = [video for video in _split_video_ids(paragraphs, "validation") if video in test]
    return chosen


def write_subset_annotations(benchmark: str, source: Path, target: Path, videos: dict[str, list[str]]) -> None:
    """Copy the official annotation files of ``benchmark``, keeping only the chosen videos of each split."""
    target.mkdir(parents=True, exist_ok=True)
    for split, filename in BENCHMARKS[benchmark][2].items():
        keep = set(videos.get(split, []))
        text = (source / filename).read_text()
        if filename.endswith(".json"):
            kept = {video: value for video, value in json.loads(text).items() if video in keep}
            (target / filename).write_text(json.dumps(kept))
        else:  # Charades-STA: one "VID start end##sentence" line per moment
            lines = [line for line in text.splitlines(keepends=True) if line.split(" ", 1)[0] in keep]
            (target / filename).write_text("".join(lines))
    for extra in sorted(source.glob("*.csv")):  # Charades-STA durations: every video, as distributed
        shutil.copyfile(extra, target / extra.name)


def prepare_subset(settings: Settings, source: Path, data_dir: Path) -> Subset:
    """The realistic subset of ``settings`` under ``data_dir`` (generated when missing, reused otherwise)."""
    from dmr_jrg_hf.data.realistic import RealisticFeatureConfig, generate_realistic_features

    folder = data_dir / (
        f"{settings.builder_name}-train{settings.train_paragraphs}-test{settings.test_paragraphs}-seed{settings.seed}"
    )
    if (folder / "subset.json").is_file():
        return Subset(folder, read_json(folder / "subset.json"))
    log(f"generating the realistic subset {folder} from {source}")
    started = time.perf_counter()
    shutil.rmtree(folder, ignore_errors=True)
    paragraphs = load_benchmark(settings.builder_name, source).paragraphs
    videos = sample_videos(
        paragraphs, {"train": settings.train_paragraphs, "test": settings.test_paragraphs}, settings.seed
    )
    subset = Subset(folder, {})
    write_subset_annotations(settings.benchmark, source, subset.annotations, videos)
    feature_config = RealisticFeatureConfig()
    every_video = sorted({video for split_videos in videos.values() for video in split_videos})
    generate_realistic_features(settings.builder_name, source, subset.features, feature_config, video_ids=every_video)
    loaded = load_benchmark(settings.builder_name, subset.annotations, subset.features).paragraphs
    info = {
        "benchmark": settings.builder_name,
        "source_annotations": str(source),
        "sample_seed": settings.seed,
        "feature_dim": feature_config.feature_dim,
        "feature_seed": feature_config.seed,
        "seconds": round(time.perf_counter() - started, 1),
        **{f"{split}_paragraphs": loaded[split].num_rows for split in loaded},
        **{f"{split}_sentences": sum(map(len, loaded[split]["sentences"])) for split in loaded},
        **{f"{split}_videos": len(set(loaded[split]["video_id"])) for split in loaded},
    }
    write_json(folder / "subset.json", info)
    return Subset(folder, info)


# Runs --------------------------------------------------------------------------------------------------------------


def dmr_jrg_executable() -> str:
    """The ``dmr-jrg`` console script of this Python environment (next to the interpreter), else the one on PATH."""
    sibling = Path(sys.executable).with_name("dmr-jrg")
    found = str(sibling) if sibling.is_file() else shutil.which("dmr-jrg")
    if found is None:
        raise SystemExit("the dmr-jrg command was not found: install the package (pip install -e .)")
    return found


def run_logged(command: Sequence[str], log_path: Path, threads: int) -> float:
    """Run ``command`` with its output appended to ``log_path``; returns its wall time, exits on failure."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    with log_path.open("a") as handle:
        handle.write(f"$ {' '.join(command)}\n")
        handle.flush()
        code = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, env=env, check=False).returncode
    if code != 0:
        tail = "".join(log_path.read_text().splitlines(keepends=True)[-20:])
        raise SystemExit(f"command failed with exit code {code} (log: {log_path}):\n{tail}")
    return time.perf_counter() - started


def restart_flags(model_dir: Path) -> list[str]:
    """How ``dmr-jrg train`` continues in ``model_dir``: from the latest checkpoint, over a run killed before its
    first checkpoint, or as a new run."""
    checkpoints = model_dir / "checkpoints"
    if checkpoints.is_dir() and any(checkpoints.iterdir()):
        return ["--resume", "latest"]
    if model_dir.is_dir() and any(model_dir.iterdir()):
        return ["--overwrite"]
    return []


class TableRunner:
    """Trains and evaluates the rows of the tables, each step skipped when its JSON exists.

    Args:
        settings (Settings): sizes and seed.
        subset (Subset): the data.
        output_dir (Path): ``runs/`` and the tables go here.
        evaluate (Callable, optional): ``(model_dir, subset, queries, threads) -> result`` (default
            `evaluate_run`); tests replace it.
    """

    def __init__(self, settings: Settings, subset: Subset, output_dir: Path, evaluate: Callable | None = None):
        self.settings = settings
        self.subset = subset
        self.output_dir = output_dir
        self.evaluate = evaluate or evaluate_run
        self._folders = self._shared_folders()

    def _shared_folders(self) -> dict[Training, str]:
        """Run folder of every training of every table: trainings with equal configs share the first one's."""
        by_config: dict[str, str] = {}
        folders = {}
        for table in TABLES:
            for row in table_rows(table):
                key = self.settings.config(row.training).to_json_string(use_diff=False)
                folders[row.training] = by_config.setdefault(key, row.training.name)
        return folders

    def run_dir(self, training: Training) -> Path:
        return self.output_dir / "runs" / self._folders[training]

    def train_command(self, training: Training, model_dir: Path, summary: Path) -> list[str]:
        """The ``dmr-jrg train`` call of ``training`` (without the restart flags)."""
        settings, subset = self.settings, self.subset
        command = [
            dmr_jrg_executable(), "train",
            "--benchmark", settings.builder_name,
            "--annotations", str(subset.annotations),
            "--features", str(subset.features),
            "--preset", settings.preset,
            "--objective", training.objective,
            "--set", f"supervision={training.supervision}",
            "--set", f"hidden_size={settings.hidden_size}",
            *(["--set", f"learning_rate={settings.learning_rate}"] if settings.learning_rate else []),
            "--epochs", str(settings.epochs),
            "--eval-every", "0",
            "--seed", str(settings.seed),
            "--threads", str(settings.threads),
            "--quiet",
            "--output", str(summary),
            "--output-dir", str(model_dir),
        ]  # fmt: skip
        return command + (["--ablation", training.ablation] if training.ablation else [])

    def train(self, training: Training) -> dict[str, Any]:
        """Train ``training`` unless its ``training.json`` exists; returns that record."""
        folder = self.run_dir(training)
        record_path = folder / "training.json"
        if record_path.is_file():
            return read_json(record_path)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("eval_*.json"):  # evaluations of an earlier model of this run
            stale.unlink()
        model_dir, summary = folder / "model", folder / "train_summary.json"
        flags = restart_flags(model_dir)
        command = self.train_command(training, model_dir, summary) + flags
        log(f"train {folder.name} {' '.join(flags)} (log: {folder / 'train.log'})")
        seconds = run_logged(command, folder / "train.log", self.settings.threads)
        record = {"command": command, "seconds": round(seconds, 1), "restart": flags, "summary": read_json(summary)}
        write_json(record_path, record)
        log(f"trained {folder.name} in {seconds:.0f} s")
        return record

    def result(self, row: Row) -> dict[str, Any]:
        """Train and evaluate ``row`` (each step skipped when done); returns its table entry."""
        training = self.train(row.training)
        folder = self.run_dir(row.training)
        path = folder / f"eval_{row.queries}.json"
        if not path.is_file():
            log(f"evaluate {folder.name} with {row.queries} queries")
            write_json(path, self.evaluate(folder / "model", self.subset, row.queries, self.settings.threads))
        evaluation = read_json(path)
        return {
            "label": row.label,
            **asdict(row.training),
            "queries": row.queries,
            "run": str(folder.relative_to(self.output_dir)),
            "metrics": evaluation["metrics"],
            "train_seconds": training["seconds"],
            "eval_seconds": evaluation["seconds"],
            "num_queries": evaluation["num_queries"],
        }

    def baselines(self) -> dict[str, Any]:
        """Timestamp-free baselines on the test split (cached in ``baselines.json``)."""
        path = self.output_dir / "baselines.json"
        if not path.is_file():
            num_clips = self.settings.config(DEFAULT_RECIPE).num_clips
            write_json(path, evaluate_subset_baselines(self.subset, num_clips, self.settings.seed))
        return read_json(path)


# Evaluation (the package's public evaluation API) ------------------------------------------------------------------


def _test_split(subset: Subset):
    data = load_benchmark(subset.info["benchmark"], subset.annotations, subset.features)
    return [dict(row) for row in data.paragraphs["test"]], data.features


def evaluate_run(model_dir: Path, subset: Subset, queries: str, threads: int) -> dict[str, Any]:
    """Evaluate a trained model on the test split, with whole paragraphs or single sentences as queries."""
    import torch

    from dmr_jrg_hf import DMRJRGModel, evaluate_model
    from dmr_jrg_hf.metrics import single_sentence_queries
    from dmr_jrg_hf.processing_dmr_jrg import DMRJRGProcessor

    torch.set_num_threads(threads)
    rows, features = _test_split(subset)
    if queries == "sentence":
        rows = single_sentence_queries(rows)
    model = DMRJRGModel.from_pretrained(model_dir).eval()
    processor = DMRJRGProcessor.from_pretrained(model_dir)
    started = time.perf_counter()
    metrics = evaluate_model(model, processor, rows, features, protocols=EVAL_PROTOCOLS, show_progress=False)
    return {"metrics": metrics, "seconds": round(time.perf_counter() - started, 1), "num_queries": len(rows)}


def evaluate_subset_baselines(subset: Subset, num_clips: int, seed: int) -> dict[str, Any]:
    """`evaluate_baselines` on the test split: fixed windows, query-free saliency, random retrieval."""
    from dmr_jrg_hf import evaluate_baselines

    rows, features = _test_split(subset)
    return evaluate_baselines(rows, features, num_clips, seed=seed)


# Tables ------------------------------------------------------------------------------------------------------------


def baseline_lines(baselines: dict[str, Any]) -> dict[str, dict[str, dict[str, float]]]:
    """The reference lines of every table: best fixed window (by R@1 IoU 0.5), middle half, query-free saliency, and
    random retrieval."""
    windows = {name: value for name, value in baselines.items() if name.startswith("window_")}
    best = max(windows, key=lambda name: windows[name]["grounding"]["R@1,IoU=0.5"])
    return {
        f"best fixed window ({best.removeprefix('window_').replace('_', ' ')})": windows[best],
        "middle half of the video": windows["window_middle_half"],
        "query-free saliency": baselines["query_free_saliency"],
        "random retrieval": baselines["random_retrieval"],
    }


def goal_outcome(goal: Goal, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The goal's ratio on the table's rows and whether it is met."""
    values = {row["label"]: row["metrics"][goal.protocol][goal.metric] for row in rows}
    numerator, denominator = values[goal.numerator], values[goal.denominator]
    ratio = numerator / denominator if denominator > 0 else None
    return {
        **asdict(goal),
        "numerator_value": numerator,
        "denominator_value": denominator,
        "ratio": ratio,
        "met": ratio is not None and ratio >= goal.threshold,
    }


def sizes_line(table: dict[str, Any]) -> str:
    """The sizes and seed of a table, in words."""
    s, d = table["settings"], table["data"]
    return (
        f"{d['benchmark']} realistic subset: {d['train_paragraphs']} training paragraphs ({d['train_sentences']} "
        f"sentences), {d['test_paragraphs']} test paragraphs ({d['test_sentences']} sentences, {d['test_videos']} "
        f"videos); simulated {d['feature_dim']}-d features (feature seed {d['feature_seed']}); preset "
        f"`{s['preset']}`, {s['epochs']} epoch(s), hidden size {s['hidden_size']}, learning rate "
        f"{table['learning_rate']:g}, {s['threads']} thread(s), seed {s['seed']}; weak supervision unless the row "
        "says otherwise; no validation (last epoch's weights)."
    )


def _cell(metrics: dict[str, dict[str, float]], protocol: str, metric: str) -> str:
    value = metrics.get(protocol, {}).get(metric)
    return "—" if value is None else f"{value:.1f}"


def format_markdown(table: dict[str, Any]) -> str:
    """The markdown of a table: title, sizes, rows, baselines, goal."""
    titles = [title for title, _, _ in COLUMNS]
    lines = [
        f"### {table['title']}",
        "",
        sizes_line(table),
        "",
        "| row | " + " | ".join(titles) + " | train s | eval s |",
        "|---|" + "---:|" * (len(titles) + 2),
    ]
    for row in table["rows"]:
        cells = [_cell(row["metrics"], protocol, metric) for _, protocol, metric in COLUMNS]
        times = f"{row['train_seconds']:.0f} | {row['eval_seconds']:.0f}"
        lines.append(f"| {row['label']} | " + " | ".join(cells) + f" | {times} |")
    for label in table.get("pending", []):
        lines.append(f"| {label} (not run yet) |" + " |" * (len(COLUMNS) + 2))
    for label, metrics in table["baselines"].items():
        cells = [_cell(metrics, protocol, metric) for _, protocol, metric in COLUMNS]
        lines.append(f"| *{label}* | " + " | ".join(cells) + " | — | — |")
    goal = table.get("goal")
    if goal:
        ratio = "n/a (zero denominator)" if goal["ratio"] is None else f"{goal['ratio']:.2f}"
        lines += [
            "",
            f"Goal: {goal['numerator']} / {goal['denominator']} at {goal['protocol']} {goal['metric']} = "
            f"{goal['numerator_value']:.1f} / {goal['denominator_value']:.1f} = {ratio} (goal ≥ {goal['threshold']}: "
            f"{'met' if goal['met'] else 'not met'}).",
        ]
    return "\n".join(lines) + "\n"


def plot_table(table: dict[str, Any], path: Path) -> None:
    """Bars of each row's GT-video R@1 IoU 0.5 and VPRG R@10 IoU 0.5; the grounding baselines as horizontal lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [row["label"] for row in table["rows"]]
    figure, axes = plt.subplots(len(PLOTTED), 1, figsize=(max(7.0, 0.55 * len(labels) + 3), 5.5 * len(PLOTTED)))
    for axis, (protocol, metric, title) in zip(axes, PLOTTED, strict=True):
        values = [row["metrics"].get(protocol, {}).get(metric, np.nan) for row in table["rows"]]
        bars = axis.bar(range(len(labels)), values, color="tab:blue")
        axis.bar_label(bars, fmt="%.1f", fontsize=7)
        axis.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
        axis.set_title(title)
        lines = []
        for (name, metrics), style in zip(table["baselines"].items(), ("--", ":", "-."), strict=False):
            value = metrics.get(protocol, {}).get(metric)
            if value is not None:
                axis.axhline(value, linestyle=style, color="black", label=name)
                lines.append(value)
        axis.set_ylim(0, 1.15 * max([1.0, *lines, *np.nan_to_num(values)]))
        if lines:
            axis.legend(fontsize=8)
    s, d = table["settings"], table["data"]
    sizes = (
        f"{d['benchmark']} realistic: {d['train_paragraphs']} train / {d['test_paragraphs']} test paragraphs, "
        f"{s['epochs']} epoch(s), hidden {s['hidden_size']}, lr {table['learning_rate']:g}, seed {s['seed']}"
    )
    figure.suptitle(f"{table['title']}\n{sizes}", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def write_table(
    name: str,
    rows: list[dict[str, Any]],
    runner: TableRunner,
    plot: bool = True,
    objectives: Sequence[str] = OBJECTIVES,
) -> dict[str, Any]:
    """Write ``table_<name>.md``, ``.json`` and (with ``plot``) ``.png``; returns the table. A table whose later rows
    (among those of ``objectives``) have not run yet lists them as pending (and has no goal until both of its rows are
    done)."""
    done = {row["label"] for row in rows}
    table = {
        "table": name,
        "title": TABLE_TITLES[name],
        "settings": asdict(runner.settings),
        "learning_rate": runner.settings.config(DEFAULT_RECIPE).learning_rate,
        "data": runner.subset.info,
        "rows": rows,
        "pending": [row.label for row in table_rows(name, objectives) if row.label not in done],
        "baselines": baseline_lines(runner.baselines()),
    }
    goal = TABLE_GOALS.get(name)
    if goal and {goal.numerator, goal.denominator} <= done:
        table["goal"] = goal_outcome(goal, rows)
    write_json(runner.output_dir / f"table_{name}.json", table)
    (runner.output_dir / f"table_{name}.md").write_text(format_markdown(table))
    if plot:
        plot_table(table, runner.output_dir / f"table_{name}.png")
    log(f"wrote {runner.output_dir / f'table_{name}.md'}")
    return table


def run_tables(
    tables: Sequence[str], runner: TableRunner, plot: bool = True, objectives: Sequence[str] = OBJECTIVES
) -> list[dict[str, Any]]:
    """Run every row of ``tables`` in order (resuming; Table IV with each of ``objectives``); each table is rewritten
    after each of its rows (the plot once its rows are done), so a stopped call leaves the rows it finished."""
    written = []
    for name in tables:
        rows = table_rows(name, objectives)
        results = []
        for index, row in enumerate(rows, 1):
            log(f"table {name}, row {index}/{len(rows)}: {row.label}")
            results.append(runner.result(row))
            table = write_table(name, results, runner, plot and index == len(rows), objectives)
        written.append(table)
    return written


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", choices=[*TABLES, "all"], default="all")
    parser.add_argument("--benchmark", choices=sorted(BENCHMARKS), default="charades")
    parser.add_argument(
        "--objectives", nargs="+", choices=OBJECTIVES, default=list(OBJECTIVES), help="Table IV's objectives"
    )
    parser.add_argument("--preset", help="model preset (default: the benchmark's; `tiny` for smoke tests)")
    parser.add_argument("--annotations", type=Path, help="real annotation folder (default: ../shared/benchmarks/...)")
    parser.add_argument("--data-dir", type=Path, default=Path("outputs/realistic"), help="realistic subsets")
    parser.add_argument("--train-paragraphs", type=int, default=1000)
    parser.add_argument("--test-paragraphs", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--hidden-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, help="Adam's learning rate (default: the preset's, 1e-4)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-dir", type=Path, default=Path("outputs/tables"))
    parser.add_argument("--no-plot", action="store_true", help="markdown and JSON only (no matplotlib)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    builder_name, preset, _ = BENCHMARKS[args.benchmark]
    settings = Settings(
        benchmark=args.benchmark,
        preset=args.preset or preset,
        train_paragraphs=args.train_paragraphs,
        test_paragraphs=args.test_paragraphs,
        epochs=args.epochs,
        hidden_size=args.hidden_size,
        threads=args.threads,
        seed=args.seed,
        learning_rate=args.learning_rate,
    )
    check_settings(args.output_dir, settings)
    subset = prepare_subset(settings, args.annotations or SHARED_BENCHMARKS / builder_name, args.data_dir)
    runner = TableRunner(settings, subset, args.output_dir)
    tables = TABLES if args.table == "all" else [args.table]
    run_tables(tables, runner, plot=not args.no_plot, objectives=args.objectives)
    return 0


if __name__ == "__main__":
    sys.exit(main())
