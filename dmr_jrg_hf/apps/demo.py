"""The main job on the embedded default: train DMR-JRG on the synthetic benchmark, evaluate it and query it.

Steps: generate the synthetic benchmark -> build the processor (vocabulary + Word2Vec on the training sentences) ->
evaluate the untrained model -> train with weak supervision (paragraph-video pairs only) -> evaluate the best
checkpoint on the test split next to timestamp-free baselines -> write ``results.json`` and the model folder -> run
one paragraph query against the test corpus and save its plots in ``plots/``.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..configuration_dmr_jrg import DMRJRGConfig
from ..data.synthetic import SyntheticBenchmark, generate_synthetic_benchmark
from ..hub import complete_model_folder
from ..inference import DMRJRGPredictor
from ..metrics import format_results_table
from ..model_builder import build_model_and_processor
from ..results import ParagraphResult
from ..training import DMRJRGTrainer, TrainingArguments, evaluate_baselines, evaluate_model

__all__ = ["DemoResult", "run_demo"]

logger = logging.getLogger(__name__)


@dataclass
class DemoResult:
    """Everything the demo measured: ``results`` as written to results.json, the printable table and query report,
    and the query's plots (``retrieval``, ``timeline``, ``score_maps`` -> PNG path; empty without matplotlib)."""

    results: dict[str, Any]
    table: str
    query_report: str
    output_dir: Path
    seconds: float
    plots: dict[str, Path] = field(default_factory=dict)


def _save_plots(predictor: DMRJRGPredictor, results, row, plot_dir: Path) -> dict[str, Path]:
    """The query's retrieval, timeline and score-map plots (ground truth from ``row``); none without matplotlib."""
    try:
        return predictor.save_query_plots(
            results, plot_dir, true_video=row["video_id"], ground_truth=row["timestamps"]
        )
    except ImportError as error:
        logger.warning("query plots skipped: %s", error)
        return {}


def _moment_lines(result, row) -> list[str]:
    """Each sentence's top moment in one retrieved video, next to its true moment when that is the row's video."""
    in_true_video = result.hit.video_id == row["video_id"]
    lines = [f"moments in {result.hit.video_id} (#{result.hit.rank}; predicted vs ground truth, seconds):"]
    for i, (sentence, truth) in enumerate(zip(result.sentences, row["timestamps"], strict=True)):
        top = sentence.moments[0]
        reference = f"[{truth[0]:6.1f}, {truth[1]:6.1f}]" if in_true_video else "(other video)"
        lines.append(f"  {i + 1}. [{top.start:6.1f}, {top.end:6.1f}] score {top.score:.2f}   truth {reference}")
    return lines


def _query_example(
    predictor: DMRJRGPredictor, benchmark: SyntheticBenchmark, plot_dir: Path, top_k: int = 5
) -> tuple[str, dict[str, Path]]:
    """Index the test corpus, retrieve one test paragraph's videos and ground its sentences; report and plot paths."""
    rows = benchmark.paragraphs["test"]
    row = rows[0]
    durations = {r["video_id"]: r["duration"] for r in rows}
    index = predictor.index_videos({v: benchmark.features[v] for v in durations}, durations, show_progress=False)
    sentences, video_id = list(row["sentences"]), row["video_id"]
    results = predictor.retrieve_and_ground(sentences, top_k=top_k)
    lines = [f"query paragraph (ground truth video {video_id}):"]
    lines += [f"  {i + 1}. {sentence}" for i, sentence in enumerate(sentences)]
    lines.append("retrieved videos:")
    for result in results:
        marker = "  <- ground truth" if result.hit.video_id == video_id else ""
        lines.append(f"  #{result.hit.rank} {result.hit.video_id}  score {result.hit.score:.3f}{marker}")
    lines += _moment_lines(results[0], row)
    ranking = predictor.retrieve(sentences, top_k=len(index))
    truth_hit = next(hit for hit in ranking if hit.video_id == video_id)
    if truth_hit.rank > 1:  # grounding on its own: the moments in the true video, wherever it ranks
        truth = predictor.ground(sentences, benchmark.features[video_id], row["duration"])
        lines += _moment_lines(ParagraphResult(truth_hit, row["duration"], truth), row)
    return "\n".join(lines), _save_plots(predictor, results, row, plot_dir)


def run_demo(
    output_dir: str | Path = "outputs/demo",
    seed: int = 0,
    num_train_epochs: int | None = None,
    show_progress: bool = True,
    **benchmark_overrides: Any,
) -> DemoResult:
    """Run the whole demo and write ``results.json`` + the trained model (``from_pretrained``-loadable) to output_dir.

    Args:
        output_dir (str or Path): run folder.
        seed (int): seeds the benchmark, the processor and training.
        num_train_epochs (int, optional): override the demo's epochs (tests use 1).
        show_progress (bool): tqdm bars.
        **benchmark_overrides: fields of `SyntheticBenchmarkConfig` (e.g. ``num_train_videos``).
    """
    started = time.perf_counter()
    output_dir = Path(output_dir)
    benchmark = generate_synthetic_benchmark(seed=seed, **benchmark_overrides)
    config = DMRJRGConfig.from_preset(
        "synthetic",
        feature_dim=benchmark.config.feature_dim,
        **({"num_train_epochs": num_train_epochs} if num_train_epochs else {}),
    )
    train_rows = benchmark.paragraphs["train"]
    model, processor = build_model_and_processor(
        config,
        train_rows,
        video_feature_spec={"name": "synthetic", "rate_per_second": benchmark.config.frames_per_second},
        seed=seed,
    )
    config = model.config
    logger.info("vocabulary: %d words; config: K=%d, d=%d", processor.vocab_size, config.num_clips, config.hidden_size)
    test_rows, features = benchmark.paragraphs["test"], benchmark.features
    untrained = evaluate_model(model, processor, test_rows, features, show_progress=show_progress)
    args = TrainingArguments(  # the demo replaces its previous run (overwrite_output_dir)
        output_dir=str(output_dir),
        overwrite_output_dir=True,
        seed=seed,
        eval_every_epochs=2,
        save_every_epochs=0,
        show_progress=show_progress,
    )
    trainer = DMRJRGTrainer(model, processor, args, train_rows, features, eval_rows=benchmark.paragraphs["validation"])
    training = trainer.train()
    trained = evaluate_model(model, processor, test_rows, features, show_progress=show_progress)
    results = {
        "benchmark": {"name": "synthetic", "split": "test", "paragraphs": len(test_rows), "seed": seed},
        "model": trained,
        "untrained": untrained,
        "baselines": evaluate_baselines(test_rows, features, config.num_clips, seed=seed),
        "training": {
            "epochs": training.epochs_completed,
            "best_epoch": training.best_epoch,
            "seconds": training.train_seconds,
        },
    }
    (output_dir / "results.json").write_text(json.dumps(results, indent=2))
    complete_model_folder(output_dir, evaluation=output_dir / "results.json", model_name="dmr-jrg-synthetic-demo")
    table = format_results_table(
        {"DMR-JRG (trained)": trained, "DMR-JRG (untrained)": untrained, **results["baselines"]}
    )
    report, plots = _query_example(DMRJRGPredictor(model, processor), benchmark, output_dir / "plots")
    return DemoResult(results, table, report, output_dir, time.perf_counter() - started, plots)
