"""bf16 on any CPU: the capability probe, the Bi-LSTM's float32 fallback under autocast, and a step in a fresh process
limited to AVX2 (where oneDNN has no bf16 LSTM), so a kernel-dependent assumption fails on every machine."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from dmr_jrg_hf import precision
from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
from dmr_jrg_hf.modules.text_encoder import SentenceEncoder

pytestmark = pytest.mark.portability


def _lstm_runs_under_bf16_autocast() -> bool:
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            torch.nn.LSTM(3, 2)(torch.randn(4, 1, 3))
    except RuntimeError:
        return False
    return True


def test_the_probe_tells_whether_oneDNN_has_a_bf16_lstm():
    assert precision.cpu_has_bf16_kernels() is _lstm_runs_under_bf16_autocast()


@pytest.mark.parametrize("has_kernels", [False, True])
def test_the_sentence_encoder_runs_under_bf16_autocast_whatever_the_cpu(monkeypatch, has_kernels):
    if has_kernels and not precision.cpu_has_bf16_kernels():
        pytest.skip("this CPU has no oneDNN bf16 kernels")
    monkeypatch.setattr(precision, "cpu_has_bf16_kernels", lambda: has_kernels)
    encoder = SentenceEncoder(DMRJRGConfig.from_preset("tiny"))
    embeddings = torch.randn(5, 7, encoder.lstm.input_size)
    word_mask = torch.arange(7)[None] < torch.tensor([7, 4, 1, 3, 6])[:, None]
    reference_states, reference_features = encoder(embeddings, word_mask)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        states, features = encoder(embeddings, word_mask)
    if has_kernels:
        assert states.dtype == torch.bfloat16, "native kernels: the LSTM follows autocast"
        torch.testing.assert_close(features.float(), reference_features, rtol=0.05, atol=0.05)
    else:
        assert states.dtype == torch.float32, "no bf16 kernels: the LSTM runs in float32 inside the autocast region"
        torch.testing.assert_close(states, reference_states, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(features, reference_features, rtol=1e-5, atol=1e-6)
    assert torch.is_autocast_enabled("cpu") is False, "the region is closed again"


def test_a_cpu_without_bf16_kernels_skips_the_bench_bf16_probe(monkeypatch):
    from dmr_jrg_hf.bench import hardware

    timed = []
    monkeypatch.setattr(precision, "cpu_has_bf16_kernels", lambda: False)
    monkeypatch.setattr(hardware, "cpu_has_bf16_kernels", lambda: False)
    monkeypatch.setattr(hardware, "matmul_flops", lambda size, dtype, device, repeats: timed.append(dtype) or 1e9)
    limits = hardware.machine_limits("cpu", matmul_size=8, bandwidth_bytes=2**16, repeats=1)
    assert limits["matmul_flops"] == {"fp32": 1e9, "bf16": None} and timed == [torch.float32]


STEP_UNDER_AVX2 = """
import torch
from dmr_jrg_hf.bench.model_step import benchmark_model_step
from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
from dmr_jrg_hf.precision import cpu_has_bf16_kernels

result = benchmark_model_step(DMRJRGConfig.from_preset("tiny"), 2, 3, 6, num_steps=1, dtype="bf16", count_flops=False)
print(cpu_has_bf16_kernels(), result["mean_step_seconds"] > 0)
"""


@pytest.mark.slow
def test_a_bf16_training_step_runs_with_oneDNN_limited_to_avx2():
    environment = dict(os.environ, ONEDNN_MAX_CPU_ISA="AVX2", OMP_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, "-c", STEP_UNDER_AVX2], env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["False", "True"], "AVX2 alone has no bf16 LSTM; the step still runs"
