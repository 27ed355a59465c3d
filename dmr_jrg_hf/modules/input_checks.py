"""Boundary checks of the model's inputs: each failure raises `InputError` naming the tensor and the item at fault.

Shapes are always checked (they are host metadata). Checks of the values (ids inside the vocabulary, no empty
sentence, the map mask) read tensor contents, which on an accelerator is a device synchronisation at every step, so
they run where the tensors are on the host (the processor's output, CPU training and inference) and are skipped for
tensors on an accelerator and while `torch.compile` traces the model (a compiled step must not depend on the values);
call these functions on the host batch to check it before moving it.
"""

from __future__ import annotations

import torch

from ..configuration_dmr_jrg import DMRJRGConfig
from ..errors import InputError
from ..geometry import valid_cell_mask
from .local_branch import real_sentence_index

__all__ = ["check_word_inputs", "check_clip_features", "check_map_mask", "check_sentence_index"]


def _values_readable(tensor: torch.Tensor) -> bool:
    """Whether reading ``tensor``'s values is free: on the host, outside a `torch.compile` trace."""
    return tensor.device.type == "cpu" and not torch.compiler.is_compiling()


def check_word_inputs(
    config: DMRJRGConfig,
    word_ids: torch.Tensor,
    word_mask: torch.Tensor,
    sentence_mask: torch.Tensor,
    masked_word_ids: torch.Tensor | None = None,
    masked_positions: torch.Tensor | None = None,
) -> None:
    """Shapes (batch, num_sentences, num_words) agree; for host tensors also: ids lie in the vocabulary, every real
    sentence has a word and every paragraph a sentence."""
    if word_ids.dim() != 3:
        raise InputError(f"word_ids: expected (batch, num_sentences, num_words), got {tuple(word_ids.shape)}")
    named = {"word_mask": word_mask, "masked_word_ids": masked_word_ids, "masked_positions": masked_positions}
    for name, tensor in named.items():
        if tensor is not None and tensor.shape != word_ids.shape:
            raise InputError(
                f"{name}: expected shape {tuple(word_ids.shape)} like word_ids, got {tuple(tensor.shape)}"
            )
    if tuple(sentence_mask.shape) != tuple(word_ids.shape[:2]):
        raise InputError(
            f"sentence_mask: expected (batch, num_sentences) = {tuple(word_ids.shape[:2])}, "
            f"got {tuple(sentence_mask.shape)}"
        )
    if not _values_readable(word_ids):
        return
    outside = ((word_ids < 0) | (word_ids >= config.vocab_size)).nonzero()
    if len(outside):
        paragraph, sentence, word = outside[0].tolist()
        raise InputError(
            f"word_ids: id {word_ids[paragraph, sentence, word].item()} (word {word} of sentence {sentence} of "
            f"paragraph {paragraph}) is outside [0, vocab_size={config.vocab_size})"
        )
    empty = (sentence_mask & ~word_mask.any(-1)).nonzero()
    if len(empty):
        raise InputError(f"sentence {empty[0, 1].item()} of paragraph {empty[0, 0].item()} has no words")
    no_sentence = (~sentence_mask.any(-1)).nonzero()
    if len(no_sentence):
        raise InputError(f"paragraph {no_sentence[0, 0].item()} of the batch has no sentence")


def check_clip_features(config: DMRJRGConfig, clip_features: torch.Tensor, batch: int | None = None) -> None:
    """``clip_features`` is (batch, num_clips, feature_dim) with the config's K and D (and ``batch`` when given)."""
    expected = (batch if batch is not None else "num_videos", config.num_clips, config.feature_dim)
    found = tuple(clip_features.shape)
    if len(found) != 3 or found[1:] != expected[1:] or (batch is not None and found[0] != batch):
        raise InputError(f"clip_features: expected (batch, num_clips, feature_dim) = {expected}, got {found}")


def check_map_mask(config: DMRJRGConfig, valid_mask: torch.Tensor, map_mask: torch.Tensor) -> None:
    """``map_mask`` has the grid's shape and, on the host, equals the config's valid-cell mask (the one grid rule)."""
    if _values_readable(map_mask) and valid_mask.device.type != "cpu":
        valid_mask = torch.from_numpy(valid_cell_mask(config.num_clips, config.map_scale_layers))
    same_shape = tuple(map_mask.shape) == tuple(valid_mask.shape)
    if not same_shape or (_values_readable(map_mask) and not torch.equal(map_mask.bool(), valid_mask)):
        raise InputError(
            f"map_mask: expected the {tuple(valid_mask.shape)} valid-cell mask of num_clips={config.num_clips}, "
            f"map_scale_layers={config.map_scale_layers}; got a different mask of shape {tuple(map_mask.shape)}"
        )


def check_sentence_index(sentence_index: torch.Tensor | None, sentence_mask: torch.Tensor) -> None:
    """``sentence_index`` is a 1-D integer tensor; on the host it also equals the real positions of
    ``sentence_mask`` (`real_sentence_index`)."""
    if sentence_index is None:
        return
    if sentence_index.dim() != 1 or sentence_index.dtype != torch.int64:
        raise InputError(
            f"sentence_index: expected a (num_real,) int64 tensor, got {tuple(sentence_index.shape)} "
            f"{sentence_index.dtype}"
        )
    if not (_values_readable(sentence_index) and _values_readable(sentence_mask)):
        return
    expected = real_sentence_index(sentence_mask)
    if not torch.equal(sentence_index, expected):
        raise InputError(
            f"sentence_index: expected the flat positions of the real sentences of sentence_mask "
            f"({expected.tolist()[:8]}...), got {sentence_index.tolist()[:8]}..."
        )
