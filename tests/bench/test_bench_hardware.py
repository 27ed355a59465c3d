"""Machine limits: matmul FLOP/s and read bandwidth on small sizes (values are positive, FLOPs follow 2 * n**3)."""

from __future__ import annotations

import pytest
import torch

from dmr_jrg_hf.bench import hardware
from dmr_jrg_hf.bench.hardware import best_seconds, machine_limits, matmul_flops, read_bandwidth_by_kernel

pytestmark = pytest.mark.slow  # end to end: `make test` runs it, `make test-fast` does not


def test_best_seconds_keeps_the_shortest_call(monkeypatch):
    clock = iter([0.0, 5.0, 10.0, 11.0, 20.0, 23.0])  # timed calls of 5, 1 and 3 seconds
    monkeypatch.setattr(hardware.time, "perf_counter", lambda: next(clock))
    calls = []
    assert best_seconds(lambda: calls.append(1), 3, torch.device("cpu")) == 1.0
    assert len(calls) == 4, "one untimed call, then the timed ones"


def test_matmul_flops_counts_two_n_cubed(monkeypatch):
    monkeypatch.setattr(hardware, "best_seconds", lambda function, repeats, device: 0.5)
    assert matmul_flops(64, torch.float32, torch.device("cpu"), repeats=1) == 2 * 64**3 / 0.5


def test_read_bandwidth_counts_the_tensor_bytes(monkeypatch):
    monkeypatch.setattr(hardware, "best_seconds", lambda function, repeats, device: 0.25)
    assert read_bandwidth_by_kernel(2**20, torch.device("cpu"), repeats=1) == {
        "sum": 4 * 2**20,
        "gemv": 4 * 2**20,
        "numpy_gemv": 4 * 2**20,
    }


def test_machine_limits_on_small_sizes():
    limits = machine_limits("cpu", matmul_size=64, bandwidth_bytes=2**20, repeats=1)
    assert limits["device"] == "cpu" and limits["threads"] == torch.get_num_threads()
    assert limits["matmul_size"] == 64 and limits["bandwidth_bytes"] == 2**20
    assert limits["matmul_flops"]["fp32"] > 0 and limits["read_bandwidth_bytes_per_s"] > 0
    assert set(limits["matmul_flops"]) == {"fp32", "bf16"}
    assert limits["read_bandwidth_bytes_per_s"] == max(limits["read_bandwidth_by_kernel"].values())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_machine_limits_on_cuda():
    limits = machine_limits("cuda", matmul_size=256, bandwidth_bytes=2**24, repeats=1)
    assert limits["matmul_flops"]["fp32"] > 0 and limits["device"] == torch.cuda.get_device_name()
