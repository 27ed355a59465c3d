"""Settings of a `dmr-jrg bench` run: the sections and every size, with the defaults of the ten-minute CPU suite.

Plain Python (no torch), so that the command line can show the defaults without loading the measurement code.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SECTIONS", "SUITE_BATCH_SIZES", "BenchSettings"]

SECTIONS = ("model", "eval", "retrieval", "data")
# Batch per preset in the default suite: the paper's, except activitynet (16 in the paper: about two minutes per step
# on a 2-core CPU) which runs at 2 so that `bench all` fits in ten minutes; `--batch-size` overrides every preset.
SUITE_BATCH_SIZES = {"tiny": 4, "charades": 16, "tacos": 6, "activitynet": 2}


@dataclass
class BenchSettings:
    """Sizes and switches of a suite run (the CLI flags of `dmr-jrg bench`).

    Args:
        device (str): ``"cpu"`` or ``"cuda"``: where the limits, the model step and the evaluation run (retrieval
            and data preparation are CPU paths).
        dtype (str): ``"fp32"`` or ``"bf16"`` (autocast) for the model step.
        presets (tuple[str, ...]): presets of the model step, every branch on.
        batch_size (int, optional): B of every preset (default `SUITE_BATCH_SIZES`).
        num_steps (int): timed steps per model row.
        warmup_steps (int): untimed steps first (>= 1: the first one counts the FLOPs).
        ablation_preset (str, optional): preset of the Table IV rows; None skips them.
        ablations (tuple[str, ...], optional): which rows of `ABLATION_PRESETS` (default: all of them).
        ablation_batch_size (int): B of the Table IV rows.
        eval_paragraphs (int): synthetic test paragraphs.
        eval_model (str): a preset, randomly initialised (``"synthetic"``: the demo's model).
        eval_batch_size (int): batch of the evaluation and of the plain forward.
        retrieval_preset (str): model of the retrieval section (d sets the bytes per video).
        corpus_sizes (tuple[int, ...]): exact-search corpora; faiss_size (int, optional): FAISS corpus, 0 skips.
        num_queries (int): timed queries per corpus.
        ground_top_ks (tuple[int, ...]): top-k of timed `retrieve_and_ground` calls (none by default: with the
            ``activitynet`` model one grounded video costs about 30 s on a 2-core CPU).
        data_mb (float): MiB of features of the generated ActivityNet file.
        matmul_size (int, optional): side of the matmul of the FLOP/s limit (default 2048 on a CPU, 8192 on a GPU).
        bandwidth_mb (int, optional): MiB summed for the bandwidth limit (default 1024 on a CPU, 4096 on a GPU).
        threads (int, optional): ``torch.set_num_threads`` for the run. None: the count, 1 or torch's default,
            whose fp32 matmul is faster at the start of the run. On a machine busy with other jobs one thread wins:
            more threads wait for a descheduled partner in every parallel region.
        seed (int): seed of every generated input.
    """

    device: str = "cpu"
    dtype: str = "fp32"
    presets: tuple[str, ...] = ("tiny", "charades", "tacos", "activitynet")
    batch_size: int | None = None
    num_steps: int = 1
    warmup_steps: int = 1
    ablation_preset: str | None = "charades"
    ablations: tuple[str, ...] | None = None
    ablation_batch_size: int = 2
    eval_paragraphs: int = 200
    eval_model: str = "synthetic"
    eval_batch_size: int = 64
    retrieval_preset: str = "activitynet"
    corpus_sizes: tuple[int, ...] = (10_000, 100_000)
    faiss_size: int | None = 1_000_000
    num_queries: int = 50
    ground_top_ks: tuple[int, ...] = ()
    data_mb: float = 1024
    matmul_size: int | None = None
    bandwidth_mb: int | None = None
    threads: int | None = None
    seed: int = 0
