"""Evaluation benchmark: paragraphs/s per protocol and the vprg / plain-forward ratio on a tiny synthetic test set."""

from __future__ import annotations

import pytest

from dmr_jrg_hf.bench.evaluation import benchmark_evaluation

pytestmark = pytest.mark.slow  # end to end: `make test` runs it, `make test-fast` does not


def test_every_protocol_is_timed_against_the_plain_forward():
    report = benchmark_evaluation(num_paragraphs=6, model_name="tiny", feature_dim=12, batch_size=4)
    assert report["num_paragraphs"] == 6 and report["num_clips"] == 8 and report["plain_forward_seconds"] > 0
    assert set(report["protocols"]) == {"vprg", "vcmr", "retrieval", "grounding"}
    for protocol, timing in report["protocols"].items():
        assert timing["paragraphs_per_s"] == pytest.approx(6 / timing["seconds"]), protocol
    vprg = report["protocols"]["vprg"]["seconds"]
    assert report["vprg_over_forward"] == pytest.approx(vprg / report["plain_forward_seconds"])


def test_unknown_protocol_or_model_is_rejected():
    with pytest.raises(ValueError, match="unknown protocols"):
        benchmark_evaluation(num_paragraphs=2, model_name="tiny", protocols=["mrr"], feature_dim=12)
    with pytest.raises(ValueError, match="eval model must be one of"):
        benchmark_evaluation(num_paragraphs=2, model_name="huge", protocols=["vprg"], feature_dim=12)
