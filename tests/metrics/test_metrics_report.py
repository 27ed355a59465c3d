"""evaluate_all (protocol selection, shared work), per-paragraph records and the printed results table."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from dmr_jrg_hf.errors import InputError
from dmr_jrg_hf.metrics import (
    PROTOCOLS,
    CorpusCandidates,
    evaluate_all,
    format_results_table,
    grounding_metrics,
    retrieval_metrics,
    vcmr_metrics,
    vprg_metrics,
)

NAN = np.nan
METRICS_DIR = Path(__file__).resolve().parents[2] / "dmr_jrg_hf" / "metrics"

# 2 paragraphs, 2 videos; paragraph 0 has 2 sentences, paragraph 1 one sentence
ARRAYS = {
    "similarity": np.asarray([[0.8, 0.2], [0.6, 0.4]]),  # ranks: paragraph 0 -> 1, paragraph 1 (GT 1) -> 2
    "gt_video": np.asarray([0, 1]),
    "sentence_paragraph": np.asarray([0, 0, 1]),
    "gt_moments": np.asarray([[0.0, 10.0], [10.0, 20.0], [0.0, 4.0]]),
    "pred_moments": np.asarray(
        [[[0.0, 10.0], [NAN, NAN]], [[10.0, 15.0], [5.0, 20.0]], [[0.0, 2.0], [0.0, 4.0]]]
    ),  # top-1 IoUs 1.0, 0.5, 0.5
}
CANDIDATES = CorpusCandidates(
    videos=np.asarray([[0, 1], [1, 0], [1, -1]]),
    moments=np.asarray([[[0, 10], [0, 10]], [[10, 20], [10, 20]], [[0, 4], [NAN, NAN]]], dtype=float),
    scores=np.asarray([[2.0, 1.0], [2.0, 1.0], [1.0, -np.inf]]),
)


def test_evaluate_all_matches_each_protocol_function():
    results = evaluate_all(**ARRAYS, corpus_candidates=CANDIDATES)
    assert list(results) == list(PROTOCOLS), f"protocols in order: {list(results)}"
    assert results["vprg"] == vprg_metrics(**ARRAYS), "evaluate_all vprg"
    assert results["retrieval"] == retrieval_metrics(ARRAYS["similarity"], ARRAYS["gt_video"]), (
        "evaluate_all retrieval"
    )
    grounding = grounding_metrics(ARRAYS["pred_moments"], ARRAYS["gt_moments"], ARRAYS["sentence_paragraph"])
    assert results["grounding"] == grounding, "evaluate_all grounding"
    vcmr = vcmr_metrics(CANDIDATES, ARRAYS["gt_video"], ARRAYS["sentence_paragraph"], ARRAYS["gt_moments"])
    assert results["vcmr"] == vcmr, "evaluate_all vcmr"
    # worked values: vprg R@1,IoU=0.5 = sentences 0 and 1 (paragraph 0 at rank 1, IoU 1.0 and 0.5) = 2 of 3
    assert results["vprg"]["R@1,IoU=0.5"] == pytest.approx(200 / 3), f"vprg worked value: {results['vprg']}"
    # vcmr R@1,IoU=0.5: s0 (paragraph 0, GT video 0) has video 0 first, IoU 1 -> hit; s1 (also paragraph 0) has
    # video 1 first, the wrong video, and its correct pair second -> miss; s2 (GT video 1) IoU 1 -> hit: 2 of 3
    assert results["vcmr"]["R@1,IoU=0.5"] == pytest.approx(200 / 3), f"vcmr worked value: {results['vcmr']}"
    assert results["vcmr"]["R@10,IoU=0.5"] == 100.0, f"vcmr R@10: {results['vcmr']}"
    assert "order_consistency" in results["grounding"], "paragraph 0 has a comparable pair"


def test_evaluate_all_runs_only_the_protocols_whose_inputs_are_given():
    only_retrieval = evaluate_all(ARRAYS["similarity"], ARRAYS["gt_video"])
    assert list(only_retrieval) == ["retrieval"], f"retrieval inputs only: {list(only_retrieval)}"
    only_grounding = evaluate_all(
        sentence_paragraph=ARRAYS["sentence_paragraph"],
        gt_moments=ARRAYS["gt_moments"],
        pred_moments=ARRAYS["pred_moments"],
    )
    assert list(only_grounding) == ["grounding"], f"grounding inputs only: {list(only_grounding)}"
    assert list(evaluate_all(**ARRAYS)) == ["vprg", "retrieval", "grounding"], "no vcmr without corpus candidates"
    # vcmr does not need the GT-video moments nor the similarity
    vcmr_only = evaluate_all(
        gt_video=ARRAYS["gt_video"],
        sentence_paragraph=ARRAYS["sentence_paragraph"],
        gt_moments=ARRAYS["gt_moments"],
        corpus_candidates=CANDIDATES,
        protocols=["vcmr"],
    )
    assert list(vcmr_only) == ["vcmr"], f"vcmr alone: {list(vcmr_only)}"


@pytest.mark.parametrize(
    ("protocols", "message"),
    [
        (["vprgg"], "unknown protocol 'vprgg' \\(did you mean 'vprg'\\?\\)"),
        (["vcmr"], "protocol 'vcmr' needs \\['corpus_candidates'\\]"),
    ],
)
def test_evaluate_all_protocol_errors(protocols, message):
    with pytest.raises(InputError, match=message):
        evaluate_all(**ARRAYS, protocols=protocols)


def test_evaluate_all_without_inputs_is_an_error():
    with pytest.raises(InputError, match="no protocol has all its inputs"):
        evaluate_all()


def test_format_results_table_rows_are_systems_grouped_by_protocol():
    results = {
        "model": {"vprg": {"R@1,IoU=0.5": 12.3456}, "retrieval": {"R@1": 40.0, "MedR": 2.0}},
        "window_whole": {"grounding": {"R@1,IoU=0.5": 8.0}},
    }
    table = format_results_table(results)
    sections = table.split("\n\n")
    assert [s.splitlines()[0].split()[0] for s in sections] == ["[vprg]", "[retrieval]", "[grounding]"], table
    vprg_lines = sections[0].splitlines()
    assert vprg_lines[1].split() == ["system", "R@1,IoU=0.5"], f"vprg header: {vprg_lines[1]}"
    assert vprg_lines[2].split() == ["model", "12.35"], f"vprg model row: {vprg_lines[2]}"
    assert vprg_lines[3].split() == ["window_whole", "-"], f"missing metric prints '-': {vprg_lines[3]}"
    wide = format_results_table({"model": {"vprg": {f"R@{k},IoU=0.5": 1.0 for k in range(1, 9)}}}, max_columns=6)
    assert wide.count("system") == 2, f"8 metrics split into blocks of 6: {wide}"
    with pytest.raises(InputError, match="no systems"):
        format_results_table({})


def test_metrics_package_never_imports_torch():
    for path in sorted(METRICS_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {
            alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
        }
        imported |= {
            node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
        }
        assert "torch" not in imported, f"{path.name} imports torch"
