"""Shared test helpers: `DMRJRGModelTester` builds tiny configs and padded processor-like inputs (STYLE §2.5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
from dmr_jrg_hf.geometry import valid_cell_mask
from dmr_jrg_hf.model_builder import build_model_and_processor
from dmr_jrg_hf.modeling_dmr_jrg import DMRJRGModel

__all__ = [
    "DMRJRGModelTester",
    "assert_packed_convolution_equals_conv2d",
    "assert_same_weights",
    "folder_snapshot",
    "make_tiny_model",
    "save_tiny_model",
    "training_arguments",
    "weights_of",
]


class DMRJRGModelTester:
    """Tiny defaults (batch 2, 3 sentences, 5 words, 8 clips, feature_dim 12, hidden 16, vocab 40) and checks.

    `prepare_config_and_inputs` pads the batch: paragraph 0 has every sentence, paragraph 1 one sentence fewer and
    shorter sentences, so padding is always exercised.
    """

    def __init__(self, batch_size: int = 2, num_sentences: int = 3, num_words: int = 5, seed: int = 0):
        self.batch_size = batch_size
        self.num_sentences = num_sentences
        self.num_words = num_words
        self.seed = seed

    def get_config(self, **overrides: Any) -> DMRJRGConfig:
        """The `tiny` preset with overrides (feature_dim 12, hidden 16, vocab 40, 8 clips, dropout 0)."""
        return DMRJRGConfig.from_preset("tiny", **overrides)

    def prepare_inputs(self, config: DMRJRGConfig, batch_size: int | None = None) -> dict[str, torch.Tensor]:
        """Processor-like padded inputs for `config` (timestamps and durations included)."""
        batch = batch_size or self.batch_size
        generator = torch.Generator().manual_seed(self.seed)
        num_sentences, num_words = self.num_sentences, self.num_words
        sentence_count = torch.full((batch,), num_sentences)
        sentence_count[1::2] = max(num_sentences - 1, 1)
        sentence_mask = torch.arange(num_sentences)[None] < sentence_count[:, None]  # (batch, M)
        lengths = torch.randint(2, num_words + 1, (batch, num_sentences), generator=generator)
        lengths[1::2] = lengths[1::2].clamp(max=max(num_words - 1, 2))
        word_mask = (torch.arange(num_words) < lengths[..., None]) & sentence_mask[..., None]  # (batch, M, J)
        word_ids = torch.randint(3, config.vocab_size, (batch, num_sentences, num_words), generator=generator)
        word_ids = word_ids * word_mask
        masked_positions = torch.zeros_like(word_mask)
        masked_positions[..., 0] = sentence_mask  # floor(J_m / 3) >= 1 masked word per real sentence
        masked_positions[..., 1] = sentence_mask & (lengths >= 6)
        masked_word_ids = word_ids.masked_fill(masked_positions, config.mask_token_id)
        durations = torch.rand(batch, generator=generator) * 50 + 10
        starts = torch.rand(batch, num_sentences, generator=generator) * 0.5
        timestamps = torch.stack([starts, starts + 0.3], dim=-1) * durations[:, None, None] * sentence_mask[..., None]
        return {
            "word_ids": word_ids,
            "word_mask": word_mask,
            "masked_word_ids": masked_word_ids,
            "masked_positions": masked_positions,
            "sentence_mask": sentence_mask,
            "clip_features": torch.randn(batch, config.num_clips, config.feature_dim, generator=generator),
            "map_mask": torch.from_numpy(valid_cell_mask(config.num_clips, config.map_scale_layers)),
            "durations": durations,
            "timestamps": timestamps,
        }

    def prepare_config_and_inputs(self, **overrides: Any) -> tuple[DMRJRGConfig, dict[str, torch.Tensor]]:
        config = self.get_config(**overrides)
        return config, self.prepare_inputs(config)

    def prepare_config_and_inputs_for_common(self, **overrides: Any):
        """A seeded model (train mode), its config and inputs."""
        config, inputs = self.prepare_config_and_inputs(**overrides)
        torch.manual_seed(self.seed)
        return config, DMRJRGModel(config), inputs

    def create_and_check_model(self, test_case, config: DMRJRGConfig, inputs: dict[str, torch.Tensor]):
        """Run a training-mode forward and assert every output's shape and finiteness; returns the output."""
        model = DMRJRGModel(config).train()
        output = model(**inputs)
        batch, num_sentences = inputs["sentence_mask"].shape
        num_clips, hidden = config.num_clips, config.hidden_size
        test_case.assertEqual(tuple(output.score_maps.shape), (batch, num_sentences, num_clips, num_clips))
        test_case.assertTrue(torch.isfinite(output.loss), f"loss not finite: {output.loss}")
        if config.use_retrieval_branch:
            test_case.assertEqual(tuple(output.retrieval_similarity.shape), (batch, batch))
            test_case.assertEqual(tuple(output.video_embeddings.shape), (batch, hidden))
            test_case.assertEqual(tuple(output.paragraph_embeddings.shape), (batch, hidden))
        if config.use_global_branch:
            test_case.assertEqual(tuple(output.grounding_similarity.shape), (batch, batch))
            test_case.assertEqual(tuple(output.fused_video_embeddings.shape), (batch, hidden))
        for name in ("loss", "local_loss", "reconstruction_loss", "rank_loss"):
            test_case.assertEqual(output[name].dim(), 0, f"{name} is not a scalar")
        return output


def folder_snapshot(folder) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under ``folder`` (empty when it does not exist): compare two snapshots
    to show that a failed command left the folder exactly as it was."""
    import hashlib
    from pathlib import Path

    root = Path(folder)
    if not root.exists():
        return {}
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def training_arguments(output_dir, **overrides):
    """`TrainingArguments` of the trainer tests: seed 7, a checkpoint per epoch, no validation, progress or
    TensorBoard (epochs and batch size are the model config's: 1 and 4 with `make_tiny_model`)."""
    from dmr_jrg_hf.training import TrainingArguments

    values = {
        "output_dir": str(output_dir),
        "seed": 7,
        "eval_every_epochs": 0,
        "save_every_epochs": 1,
        "show_progress": False,
        "report_to_tensorboard": False,
        "log_every_steps": 1,
    }
    values.update(overrides)
    return TrainingArguments(**values)


def weights_of(model) -> dict[str, torch.Tensor]:
    """A detached copy of every tensor of the model's state dict."""
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


def assert_same_weights(first: dict, second: dict, case: str) -> None:
    """Bitwise equality of two `weights_of` results (same machine and thread count)."""
    assert first.keys() == second.keys()
    different = [name for name in first if not torch.equal(first[name], second[name])]
    assert not different, f"{case}: weights differ in {different[:5]}"


def make_tiny_model(benchmark, seed: int = 0, **overrides):
    """A seeded (model, processor) pair of the tiny preset for ``benchmark`` (vocabulary from its training split),
    trained for 1 epoch unless ``overrides`` say otherwise."""
    config = DMRJRGConfig.from_preset("tiny", **{"num_train_epochs": 1, **overrides})
    return build_model_and_processor(config, benchmark.paragraphs["train"], seed=seed)


def save_tiny_model(folder):
    """Save an untrained tiny-preset model and its processor (a two-sentence vocabulary) to ``folder``; returns it."""
    model, processor = build_model_and_processor("tiny", [{"sentences": ["a man opens the door", "he walks out"]}])
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def assert_packed_convolution_equals_conv2d(
    convolve: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
    num_clips: int,
    scale_layers: list[int],
    kernel_size: int,
    case: str,
) -> None:
    """``convolve(cells, weight, bias)`` on maps packed to their valid cells equals ``F.conv2d`` read at those cells,
    with the gradients of cells, weight and bias (float64, random maps that are zero at the invalid cells)."""
    mask = torch.from_numpy(valid_cell_mask(num_clips, scale_layers))
    index = mask.flatten().nonzero()[:, 0]  # packed order: row-major
    generator = torch.Generator().manual_seed(0)
    maps = torch.randn(3, 6, num_clips, num_clips, generator=generator, dtype=torch.float64) * mask
    weight = torch.randn(5, 6, kernel_size, kernel_size, generator=generator, dtype=torch.float64)
    bias = torch.randn(5, generator=generator, dtype=torch.float64)
    upstream = torch.randn(len(index), 3, 5, generator=generator, dtype=torch.float64)

    dense_inputs = [t.clone().requires_grad_() for t in (maps, weight, bias)]
    dense = F.conv2d(*dense_inputs, padding=kernel_size // 2).flatten(2)[..., index].permute(2, 0, 1)
    (dense * upstream).sum().backward()

    packed = maps.flatten(2)[..., index].permute(2, 0, 1).clone().requires_grad_()  # (cells, maps, channels)
    packed_weight, packed_bias = weight.clone().requires_grad_(), bias.clone().requires_grad_()
    output = convolve(packed, packed_weight, packed_bias)
    (output * upstream).sum().backward()

    torch.testing.assert_close(output, dense, msg=f"{case}: outputs")
    dense_cell_grad = dense_inputs[0].grad.flatten(2)[..., index].permute(2, 0, 1)
    torch.testing.assert_close(packed.grad, dense_cell_grad, msg=f"{case}: input gradient")
    torch.testing.assert_close(packed_weight.grad, dense_inputs[1].grad, msg=f"{case}: weight gradient")
    torch.testing.assert_close(packed_bias.grad, dense_inputs[2].grad, msg=f"{case}: bias gradient")
