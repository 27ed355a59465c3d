"""The ``dmr_jrg`` ``evaluate`` module: loads offline from the package folder and returns the numpy metrics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from dmr_jrg_hf.metrics import EVALUATE_MODULE_PATH, CorpusCandidates, evaluate_all

REPO_ROOT = Path(__file__).resolve().parents[2]
NAN = np.nan

PREDICTIONS = [
    {"video_scores": [0.8, 0.2, 0.1], "moments": [[[0.0, 10.0]], [[10.0, 15.0], [5.0, 20.0]]]},
    {"video_scores": [0.6, 0.4, 0.5], "moments": [[[0.0, 2.0], [0.0, 4.0]]]},
    {"video_scores": [0.3, 0.1, 0.9], "moments": [[[3.0, 6.0]], [[6.0, 9.0]]]},
]
REFERENCES = [
    {"video_index": 0, "timestamps": [[0.0, 10.0], [10.0, 20.0]]},
    {"video_index": 1, "timestamps": [[0.0, 4.0]]},
    {"video_index": 0, "timestamps": [[0.0, 5.0], [5.0, 10.0]]},  # video 0 carries paragraphs 0 and 2
]
CORPUS = [  # per paragraph: (M, L) videos, (M, L, 2) moments, (M, L) scores; L differs between sentences
    {
        "corpus_videos": [[0, 1], [1]],
        "corpus_moments": [[[0, 10], [0, 10]], [[10, 20]]],
        "corpus_scores": [[2, 1], [3]],
    },
    {"corpus_videos": [[2, 1]], "corpus_moments": [[[0, 4], [0, 4]]], "corpus_scores": [[1, 1]]},
    {"corpus_videos": [[0], [2]], "corpus_moments": [[[0, 5]], [[5, 10]]], "corpus_scores": [[1], [1]]},
]

# The same inputs as arrays, built by hand: sentences in paragraph order, moments padded with NaN.
ARRAYS = {
    "similarity": np.asarray([p["video_scores"] for p in PREDICTIONS]),
    "gt_video": np.asarray([0, 1, 0]),
    "sentence_paragraph": np.asarray([0, 0, 1, 2, 2]),
    "gt_moments": np.asarray([[0, 10], [10, 20], [0, 4], [0, 5], [5, 10]], dtype=float),
    "pred_moments": np.asarray(
        [[[0, 10], [NAN, NAN]], [[10, 15], [5, 20]], [[0, 2], [0, 4]], [[3, 6], [NAN, NAN]], [[6, 9], [NAN, NAN]]]
    ),
}
CANDIDATES = CorpusCandidates(
    videos=np.asarray([[0, 1], [1, -1], [2, 1], [0, -1], [2, -1]]),
    moments=np.asarray(
        [[[0, 10], [0, 10]], [[10, 20], [NAN, NAN]], [[0, 4], [0, 4]], [[0, 5], [NAN, NAN]], [[5, 10], [NAN, NAN]]]
    ),
    scores=np.asarray([[2, 1], [3, -np.inf], [1, 1], [1, -np.inf], [1, -np.inf]], dtype=float),
)

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import evaluate
    from dmr_jrg_hf.metrics import EVALUATE_MODULE_PATH, load_metric

    predictions, references, corpus = json.loads(sys.stdin.read())
    metric = evaluate.load(str(EVALUATE_MODULE_PATH))
    direct = metric.compute(predictions=predictions, references=references)
    batched = load_metric(experiment_id="batched")
    batched.add_batch(predictions=predictions[:2], references=references[:2])
    batched.add_batch(predictions=predictions[2:], references=references[2:])
    streamed = batched.compute(vprg_top_n=2)
    corpus_metric = evaluate.load(str(EVALUATE_MODULE_PATH), "vcmr")
    with_corpus = [{**p, **c} for p, c in zip(predictions, corpus)]
    full = corpus_metric.compute(predictions=with_corpus, references=references)
    try:
        evaluate.load(str(EVALUATE_MODULE_PATH), "nope")
        config_error = ""
    except ValueError as error:
        config_error = str(error)
    print(json.dumps({"direct": direct, "streamed": streamed, "full": full, "config_error": config_error}))
    """
)


def _run_offline(tmp_path: Path) -> dict:
    """Run SCRIPT in a fresh interpreter, offline, with empty Hugging Face caches."""
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_EVALUATE_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf_home"),
        "HF_MODULES_CACHE": str(tmp_path / "modules"),
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    stdin = json.dumps([PREDICTIONS, REFERENCES, CORPUS])
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT], input=stdin, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert completed.returncode == 0, f"evaluate.load subprocess failed:\n{completed.stderr[-3000:]}"
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_evaluate_module_folder_is_shipped_with_a_card():
    assert (EVALUATE_MODULE_PATH / "dmr_jrg.py").is_file(), "evaluate needs dmr_jrg/dmr_jrg.py (script == folder)"
    card = (EVALUATE_MODULE_PATH / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\n") and "title:" in card, "metric card front matter"
    for protocol in ("vprg", "vcmr", "retrieval", "grounding"):
        assert f"`{protocol}`" in card, f"metric card documents protocol {protocol}"


@pytest.mark.slow  # a fresh interpreter imports transformers and torch through the package: ~15-20 s on 2 cores
def test_evaluate_load_offline_in_a_fresh_process(tmp_path):
    output = _run_offline(tmp_path)
    expected = evaluate_all(**ARRAYS)
    assert list(output["direct"]) == ["vprg", "retrieval", "grounding"], f"default protocols: {list(output['direct'])}"
    for protocol, metrics in expected.items():
        assert output["direct"][protocol] == pytest.approx(metrics), f"evaluate module {protocol} vs numpy"
    streamed = evaluate_all(**ARRAYS, vprg_top_n=2)
    assert output["streamed"]["vprg"] == pytest.approx(streamed["vprg"]), "add_batch twice + vprg_top_n=2"
    full = evaluate_all(**ARRAYS, corpus_candidates=CANDIDATES)
    assert list(output["full"]) == ["vprg", "vcmr", "retrieval", "grounding"], "vcmr config runs every protocol"
    assert output["full"]["vcmr"] == pytest.approx(full["vcmr"]), "evaluate module vcmr vs numpy"
    assert "unknown config_name 'nope'" in output["config_error"], f"config error: {output['config_error']}"


def test_hand_built_arrays_give_the_worked_values():
    results = evaluate_all(**ARRAYS, corpus_candidates=CANDIDATES)
    # ranks: paragraph 0 -> 1; paragraph 1 (GT 1 at 0.4, others 0.6 and 0.5) -> 3; paragraph 2 (GT 0 at 0.3) -> 2
    assert results["retrieval"]["MeanR"] == 2.0 and results["retrieval"]["R@1"] == pytest.approx(100 / 3), results
    # top-1 IoUs: [0, 10] 1.0; [10, 15] vs [10, 20] 5/10; [0, 2] vs [0, 4] 2/4; [3, 6] vs [0, 5] overlap 2 / union 6;
    # [6, 9] vs [5, 10] 3/5
    ious = [1.0, 0.5, 0.5, 1 / 3, 0.6]
    assert results["grounding"]["mIoU"] == pytest.approx(100 * np.mean(ious)), results["grounding"]
    # vprg R@1,IoU=0.5: paragraph 0 only (rank 1): sentences 0 and 1 (IoU 1.0 and 0.5) -> 2 of 5
    assert results["vprg"]["R@1,IoU=0.5"] == pytest.approx(40.0), results["vprg"]
    # vcmr R@1,IoU=0.5: s0 hit; s1 (paragraph 0, GT video 0) has only video 1 -> miss; s2 ties video 2 with the
    # correct pair -> pessimistic rank 2 -> miss; s3 hit; s4 wrong video 2 -> miss: 2 of 5
    assert results["vcmr"]["R@1,IoU=0.5"] == pytest.approx(40.0), results["vcmr"]
    assert results["vcmr"]["R@10,IoU=0.5"] == pytest.approx(60.0), results["vcmr"]
