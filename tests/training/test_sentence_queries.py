"""Evaluating with single-sentence queries (`metrics.single_sentence_queries`) through `evaluate_model`."""

from __future__ import annotations

import pytest

from dmr_jrg_hf.metrics import single_sentence_queries
from dmr_jrg_hf.training import evaluate_model

PROTOCOLS = ["retrieval", "grounding", "vprg"]


def _evaluate(model, processor, rows, features):
    return evaluate_model(model, processor, rows, features, protocols=PROTOCOLS, show_progress=False)


def test_one_sentence_paragraphs_score_the_same_as_their_sentence_queries(small_benchmark, build_model):
    model, processor = build_model()
    rows = [{**row, "sentences": row["sentences"][:1], "timestamps": row["timestamps"][:1]} for row in
            small_benchmark.paragraphs["test"]]  # fmt: skip
    assert _evaluate(model, processor, single_sentence_queries(rows), small_benchmark.features) == _evaluate(
        model, processor, rows, small_benchmark.features
    )


def test_sentence_queries_change_retrieval_but_not_the_grounding_of_each_sentence(small_benchmark, build_model):
    """Inference grounds every sentence from its own score map ``P_m`` (VTC-LD reads no other sentence), so a sentence
    alone gets the same moment as inside its paragraph; what the paragraph adds is retrieval (one query embedding from
    every sentence), and so ``vprg``."""
    model, processor = build_model()
    rows = [dict(row) for row in small_benchmark.paragraphs["test"]]
    assert all(len(row["sentences"]) > 1 for row in rows)
    paragraphs = _evaluate(model, processor, rows, small_benchmark.features)
    sentences = _evaluate(model, processor, single_sentence_queries(rows), small_benchmark.features)
    per_sentence = [name for name in paragraphs["grounding"] if name.startswith("R@") or name == "mIoU"]
    assert len(per_sentence) == 7
    for name in per_sentence:  # paragraph@IoU and order consistency count paragraphs: they differ
        assert sentences["grounding"][name] == pytest.approx(paragraphs["grounding"][name]), name
    assert sentences["retrieval"]["MeanR"] != pytest.approx(paragraphs["retrieval"]["MeanR"])
