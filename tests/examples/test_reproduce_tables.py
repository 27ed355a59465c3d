"""examples/reproduce_tables.py: rows, shared runs, resume/skip, restart flags, tables in markdown and JSON.

The fast tests replace the ``dmr-jrg train`` subprocess and the evaluation by fakes that write what they would; the
slow test runs the real command line on a tiny realistic Charades-STA subset.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _example(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


tables = _example("reproduce_tables")

DATA_INFO = {
    "benchmark": "charades_sta",
    "feature_dim": 1024,
    "feature_seed": 0,
    "train_paragraphs": 5,
    "train_sentences": 11,
    "test_paragraphs": 4,
    "test_sentences": 9,
    "test_videos": 4,
}
# GT-video R@1 IoU 0.5 of the fake evaluation per run and query unit: weak / full = 0.75, paragraph / sentence = 2.0
FAKE_R1 = {"weak": 30.0, "semi": 35.0, "full": 40.0}
BASELINES = {
    "random_retrieval": {"retrieval": {"R@1": 25.0, "R@10": 100.0}},
    "window_middle_half": {"grounding": {"R@1,IoU=0.3": 50.0, "R@1,IoU=0.5": 20.0, "R@1,IoU=0.7": 5.0, "mIoU": 30.0}},
    "window_whole": {"grounding": {"R@1,IoU=0.3": 60.0, "R@1,IoU=0.5": 25.0, "R@1,IoU=0.7": 2.0, "mIoU": 28.0}},
    "query_free_saliency": {"grounding": {"R@1,IoU=0.3": 40.0, "R@1,IoU=0.5": 10.0, "R@1,IoU=0.7": 1.0, "mIoU": 20.0}},
}


class FakeCommands:
    """Stands in for `run_logged`: records each ``dmr-jrg train`` call and writes its model folder and summary."""

    def __init__(self):
        self.commands: list[list[str]] = []

    def __call__(self, command, log_path, threads):
        self.commands.append(list(command))
        model_dir = Path(command[command.index("--output-dir") + 1])
        model_dir.mkdir(parents=True, exist_ok=True)
        (model_dir / "config.json").write_text(json.dumps({"supervision": _value(command, "supervision")}))
        Path(command[command.index("--output") + 1]).write_text(json.dumps({"epochs": 1}))
        return 2.0


class FakeEvaluation:
    """Stands in for `evaluate_run`: metrics from the run's supervision and the query unit."""

    def __init__(self):
        self.calls: list[tuple[str, str]] = []

    def __call__(self, model_dir, subset, queries, threads):
        supervision = json.loads((Path(model_dir) / "config.json").read_text())["supervision"]
        self.calls.append((Path(model_dir).parent.name, queries))
        r1 = FAKE_R1[supervision] / (2.0 if queries == "sentence" else 1.0)
        metrics = {
            "grounding": {"R@1,IoU=0.3": 2 * r1, "R@1,IoU=0.5": r1, "R@1,IoU=0.7": r1 / 2, "mIoU": r1},
            "retrieval": {"R@1": 10.0, "R@10": 50.0},
            "vprg": {"R@1,IoU=0.5": r1 / 4, "R@10,IoU=0.5": r1},
        }
        return {"metrics": metrics, "seconds": 1.0, "num_queries": 9 if queries == "sentence" else 4}


def _value(command: list[str], key: str) -> str:
    return next(pair.split("=", 1)[1] for pair in command if pair.startswith(f"{key}="))


@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.setattr(tables, "run_logged", FakeCommands())
    monkeypatch.setattr(tables, "dmr_jrg_executable", lambda: "dmr-jrg")
    monkeypatch.setattr(tables, "evaluate_subset_baselines", lambda subset, num_clips, seed: BASELINES)
    settings = tables.Settings("charades", "tiny", 5, 4, 1, 16, 1, 3)
    subset = tables.Subset(tmp_path / "data", DATA_INFO)
    return tables.TableRunner(settings, subset, tmp_path / "out", evaluate=FakeEvaluation())


def test_table_rows_follow_the_issue():
    ablation = tables.table_rows("ablation")
    assert len(ablation) == 2 * len(tables.ABLATION_PRESETS) == 16
    assert {row.training.objective for row in ablation} == {"paper", "grounding"}
    grounding_only = tables.table_rows("ablation", ["grounding"])
    assert [row.label for row in grounding_only] == [row.label for row in ablation[len(tables.ABLATION_PRESETS) :]]
    assert [row.training.supervision for row in tables.table_rows("supervision")] == ["weak", "semi", "full"]
    paragraph, sentence = tables.table_rows("paragraph-vs-sentence")
    assert paragraph.training == sentence.training
    assert (paragraph.queries, sentence.queries) == ("paragraph", "sentence")


def test_rows_with_equal_configs_share_one_run(runner):
    full = tables.Training("grounding", ablation="full")
    assert runner.run_dir(tables.DEFAULT_RECIPE) == runner.run_dir(full), "the preset as shipped is Table IV's full"
    assert runner.run_dir(tables.Training("paper", ablation="full")) != runner.run_dir(full)
    assert runner.run_dir(tables.Training("grounding", "semi")) != runner.run_dir(tables.DEFAULT_RECIPE)


def test_finished_steps_are_skipped_and_missing_ones_rerun(runner):
    tables.run_tables(["supervision", "paragraph-vs-sentence"], runner, plot=False)
    commands, evaluations = tables.run_logged.commands, runner.evaluate.calls
    assert [_value(command, "supervision") for command in commands] == ["weak", "semi", "full"]
    assert all(command[command.index("--epochs") + 1] == "1" for command in commands)
    assert len(evaluations) == 4, "weak, semi, full with paragraphs; the weak run again with sentences"

    tables.run_tables(["supervision", "paragraph-vs-sentence"], runner, plot=False)
    assert len(commands) == 3 and len(evaluations) == 4, "a second call finds every result and runs nothing"

    (runner.run_dir(tables.DEFAULT_RECIPE) / "eval_sentence.json").unlink()
    (runner.run_dir(tables.Training("grounding", "full")) / "training.json").unlink()
    tables.run_tables(["supervision", "paragraph-vs-sentence"], runner, plot=False)
    assert [_value(command, "supervision") for command in commands[3:]] == ["full"]
    assert commands[3][-1] == "--overwrite", "the model folder of the unfinished run is replaced"
    full, weak = runner.run_dir(tables.Training("grounding", "full")).name, runner.run_dir(tables.DEFAULT_RECIPE).name
    assert evaluations[4:] == [(full, "paragraph"), (weak, "sentence")], "a retrained run is evaluated again"


def test_restart_flags(tmp_path):
    model_dir = tmp_path / "model"
    assert tables.restart_flags(model_dir) == []
    model_dir.mkdir()
    assert tables.restart_flags(model_dir) == []
    (model_dir / "run_config.json").write_text("{}")
    assert tables.restart_flags(model_dir) == ["--overwrite"]
    (model_dir / "checkpoints" / "epoch-0001").mkdir(parents=True)
    assert tables.restart_flags(model_dir) == ["--resume", "latest"]


def test_tables_are_written_as_markdown_and_json(runner):
    supervision, sentences = tables.run_tables(["supervision", "paragraph-vs-sentence"], runner, plot=False)
    markdown = (runner.output_dir / "table_supervision.md").read_text()
    assert "5 training paragraphs (11 sentences), 4 test paragraphs (9 sentences, 4 videos)" in markdown
    assert "preset `tiny`, 1 epoch(s), hidden size 16, learning rate 0.0001, 1 thread(s), seed 3" in markdown
    assert "| weak | 60.0 | 30.0 | 15.0 | 30.0 | 10.0 | 50.0 | 7.5 | 30.0 | 2 | 1 |" in markdown
    assert "| *best fixed window (whole)* | 60.0 | 25.0 | 2.0 | 28.0 | — | — | — | — | — | — |" in markdown
    assert "| *query-free saliency* | 40.0 | 10.0 |" in markdown
    assert "= 30.0 / 40.0 = 0.75 (goal ≥ 0.8: not met)" in markdown
    assert json.loads((runner.output_dir / "table_supervision.json").read_text()) == supervision
    assert supervision["goal"]["ratio"] == pytest.approx(0.75) and not supervision["goal"]["met"]
    assert sentences["goal"]["ratio"] == pytest.approx(2.0) and sentences["goal"]["met"]
    assert [row["num_queries"] for row in sentences["rows"]] == [4, 9]


def test_a_stopped_table_lists_its_finished_rows_and_the_pending_ones(runner, monkeypatch):
    real_result = runner.result

    def stop_at_full(row):
        if row.label == "full":
            raise KeyboardInterrupt
        return real_result(row)

    monkeypatch.setattr(runner, "result", stop_at_full)
    with pytest.raises(KeyboardInterrupt):
        tables.run_tables(["supervision"], runner, plot=False)
    table = json.loads((runner.output_dir / "table_supervision.json").read_text())
    assert [row["label"] for row in table["rows"]] == ["weak", "semi"] and table["pending"] == ["full"]
    assert "goal" not in table, "the goal needs the full row"
    assert "| full (not run yet) |" in (runner.output_dir / "table_supervision.md").read_text()


def test_other_settings_in_the_same_folder_are_refused(tmp_path):
    settings = tables.Settings("charades", "charades", 100, 50, 1, 64, 1, 0)
    tables.check_settings(tmp_path, settings)
    tables.check_settings(tmp_path, settings)
    with pytest.raises(SystemExit, match="epochs"):
        tables.check_settings(tmp_path, tables.Settings("charades", "charades", 100, 50, 2, 64, 1, 0))


@pytest.mark.parametrize("benchmark", ["charades", "activitynet"])
def test_subset_annotations_keep_the_sampled_videos(shared_benchmarks, tmp_path, benchmark):
    name, _, files = tables.BENCHMARKS[benchmark]
    source = shared_benchmarks / name
    paragraphs = tables.load_benchmark(name, source).paragraphs
    videos = tables.sample_videos(paragraphs, {"train": 7, "test": 5}, seed=1)
    assert videos == tables.sample_videos(paragraphs, {"train": 7, "test": 5}, seed=1)
    assert videos["test"] == tables.sample_videos(paragraphs, {"train": 9, "test": 5}, seed=1)["test"]
    tables.write_subset_annotations(benchmark, source, tmp_path, videos)
    subset = tables.load_benchmark(name, tmp_path).paragraphs
    assert sorted(set(subset["train"]["video_id"])) == videos["train"] and len(videos["train"]) == 7
    assert sorted(set(subset["test"]["video_id"])) == videos["test"] and len(videos["test"]) == 5
    assert set(files) == set(subset)


@pytest.mark.slow
def test_end_to_end_on_a_tiny_realistic_subset(shared_benchmarks, tmp_path, monkeypatch):
    """The real ``dmr-jrg train`` and evaluation, tiny preset, a handful of paragraphs, one epoch; then a second
    call that must not train again."""
    pytest.importorskip("matplotlib")
    arguments = ["--table", "paragraph-vs-sentence", "--preset", "tiny", "--train-paragraphs", "6"]
    arguments += ["--test-paragraphs", "4", "--epochs", "1", "--hidden-size", "16", "--threads", "1"]
    arguments += ["--annotations", str(shared_benchmarks / "charades_sta"), "--data-dir", str(tmp_path / "data")]
    arguments += ["--output-dir", str(tmp_path / "out")]
    assert tables.main(arguments) == 0
    table = json.loads((tmp_path / "out" / "table_paragraph-vs-sentence.json").read_text())
    assert [row["num_queries"] for row in table["rows"]] == [4, table["data"]["test_sentences"]]
    assert table["data"]["train_paragraphs"] == 6 and table["settings"]["epochs"] == 1
    assert (tmp_path / "out" / "table_paragraph-vs-sentence.png").stat().st_size > 0
    assert (tmp_path / "out" / "runs" / "grounding-weak-full" / "train.log").is_file()

    monkeypatch.setattr(tables, "run_logged", lambda *args: pytest.fail("a finished run was trained again"))
    assert tables.main(arguments) == 0
