"""Model-step benchmark: sizes, timing, counted FLOPs, memory, bf16 autocast and the training-time projection."""

from __future__ import annotations

import math

import pytest
import torch
from helpers import DMRJRGModelTester
from torch.nn.utils.rnn import pack_padded_sequence
from torch.utils.flop_counter import FlopCounterMode

from dmr_jrg_hf.bench.model_step import (
    _RecurrentFlops,
    benchmark_model_step,
    make_random_inputs,
    projected_training_seconds,
)
from dmr_jrg_hf.bench.operator_count import OperatorCounter
from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
from dmr_jrg_hf.modeling_dmr_jrg import DMRJRGModel

pytestmark = pytest.mark.slow  # end to end: `make test` runs it, `make test-fast` does not

TESTER = DMRJRGModelTester()


def test_benchmark_model_step_reports_sizes_time_flops_and_memory():
    config = TESTER.get_config()
    result = benchmark_model_step(config, batch_size=2, num_sentences=3, num_words=6, num_steps=2)
    assert result["num_parameters"] == sum(p.numel() for p in DMRJRGModel(config).parameters())
    assert len(result["step_seconds"]) == 2 and result["mean_step_seconds"] > 0
    assert result["peak_rss_increase_mib"] >= 0 and result["device"] == "cpu" and result["dtype"] == "fp32"
    assert result["flops_per_step"] > 0
    assert result["achieved_flops_per_s"] == pytest.approx(result["flops_per_step"] / result["mean_step_seconds"])
    inputs = make_random_inputs(config, 2, 3, 6)
    assert (inputs["masked_positions"].sum(-1) == 2).all(), "floor(J/3) masked words per sentence"
    assert torch.equal(inputs["masked_word_ids"][inputs["masked_positions"]], torch.full((12,), config.mask_token_id))


def test_operator_count_matches_a_separate_count_and_not_the_batch():
    config = TESTER.get_config()
    results = [benchmark_model_step(config, b, 3, 6, num_steps=1) for b in (2, 4)]
    assert results[0]["operators_per_step"] == results[1]["operators_per_step"], "no Python loop over the batch"
    assert 0 < results[0]["kernels_per_step"] < results[0]["operators_per_step"]
    assert results[0]["top_operators"] and max(results[0]["top_operators"].values()) > 1
    torch.manual_seed(0)
    model = DMRJRGModel(config).train()
    inputs = make_random_inputs(config, 2, 3, 6)
    with OperatorCounter() as counter:
        model(**inputs).loss.backward()
    assert counter.total == results[0]["operators_per_step"], "the benchmark counts one forward + backward"


def test_operator_counter_counts_forward_and_backward():
    weight = torch.ones(4, 4, requires_grad=True)
    with OperatorCounter() as counter:
        (torch.ones(2, 4) @ weight).sum().backward()
    assert counter.counts["aten.mm.default"] == 2, f"forward and weight-gradient products: {counter.counts}"
    assert counter.counts["aten.sum.default"] == 1 and counter.total > counter.kernels - 1


def test_flop_count_is_deterministic_and_grows_with_the_batch():
    config = TESTER.get_config()
    counts = [benchmark_model_step(config, b, 3, 6, num_steps=1)["flops_per_step"] for b in (2, 2, 4)]
    assert counts[0] == counts[1], "same shapes, same FLOPs"
    assert counts[2] > 1.5 * counts[0], f"twice the batch: {counts}"


@pytest.mark.portability
def test_bf16_autocast_step_and_no_flop_count():
    result = benchmark_model_step(TESTER.get_config(), 2, 3, 6, num_steps=1, dtype="bf16", count_flops=False)
    assert result["dtype"] == "bf16" and result["flops_per_step"] is None and result["achieved_flops_per_s"] is None
    assert result["mean_step_seconds"] > 0


def test_bad_arguments_are_rejected():
    config = TESTER.get_config()
    with pytest.raises(ValueError, match="num_steps"):
        benchmark_model_step(config, 2, 3, 6, num_steps=0)
    with pytest.raises(ValueError, match="dtype must be one of"):
        benchmark_model_step(config, 2, 3, 6, num_steps=1, dtype="fp8")
    with pytest.raises(ValueError, match="warm-up"):
        benchmark_model_step(config, 2, 3, 6, num_steps=1, num_warmup_steps=0)


def test_projection_counts_whole_batches_per_epoch():
    assert projected_training_seconds(2.0, 16) == 100 * math.ceil(10_009 / 16) * 2.0 == 125_200.0
    assert projected_training_seconds(1.0, 10, num_paragraphs=25, num_epochs=2) == 6.0


def _unrolled_lstm(lstm: torch.nn.LSTM, inputs: torch.Tensor, lengths: list[int]) -> None:
    """The LSTM's gate products written out step by step, so that FlopCounterMode sees every matrix product."""
    for suffix in ("", "_reverse"):
        w_ih, w_hh = getattr(lstm, f"weight_ih_l0{suffix}"), getattr(lstm, f"weight_hh_l0{suffix}")
        for row, length in enumerate(lengths):
            hidden = torch.zeros(1, lstm.hidden_size)
            cell = torch.zeros(1, lstm.hidden_size)
            for t in range(length):
                gates = inputs[row : row + 1, t] @ w_ih.t() + hidden @ w_hh.t()
                i, f, g, o = gates.chunk(4, dim=-1)
                cell = f.sigmoid() * cell + i.sigmoid() * g.tanh()
                hidden = o.sigmoid() * cell.tanh()


@pytest.mark.parametrize("packed", [False, True])
def test_lstm_flops_match_an_unrolled_reference(packed):
    lstm = torch.nn.LSTM(6, 4, batch_first=True, bidirectional=True)
    inputs = torch.randn(3, 5, 6)
    lengths = [5, 2, 4] if packed else [5, 5, 5]
    sequence = pack_padded_sequence(inputs, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
    with _RecurrentFlops(lstm) as recurrent:
        lstm(sequence if packed else inputs)
    with FlopCounterMode(display=False) as reference:
        _unrolled_lstm(lstm, inputs, lengths)
    assert recurrent.forward_flops == reference.get_total_flops() > 0
    assert recurrent.training_flops == 3 * recurrent.forward_flops


def test_activitynet_step_dispatches_a_third_of_the_first_rounds_operators():
    """9,599 operators per ActivityNet-shaped batch-16 step before the second performance round (valid-cell TAN,
    torch.nn Transformer layers, BTSE gating the features); the TAN and the reconstructor an accelerator runs (dense,
    padded) and the package's Transformer layers bring it under a third. Narrow widths: the count does not depend on
    them."""
    accelerator_layouts = {"tan_implementation": "dense", "reconstructor_layout": "padded"}
    config = DMRJRGConfig.from_preset(
        "activitynet", hidden_size=32, intermediate_size=64, feature_dim=64, vocab_size=500, **accelerator_layouts
    )
    result = benchmark_model_step(config, 16, 4, 20, num_steps=1)
    assert result["operators_per_step"] <= 9_599 / 3, result["top_operators"]
