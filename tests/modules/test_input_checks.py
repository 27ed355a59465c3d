"""The model's boundary checks (`dmr_jrg_hf.modules.input_checks`): valid inputs pass, and each kind of bad input
raises `InputError` naming the tensor and the item at fault. Value checks are skipped for tensors off the host (the
``meta`` device stands for an accelerator here), shape checks never are."""

from __future__ import annotations

import re

import pytest
import torch

from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
from dmr_jrg_hf.errors import InputError
from dmr_jrg_hf.geometry import valid_cell_mask
from dmr_jrg_hf.modules.input_checks import (
    check_clip_features,
    check_map_mask,
    check_sentence_index,
    check_word_inputs,
)

CONFIG = DMRJRGConfig.from_preset("tiny")  # vocab_size 40, num_clips 8, feature_dim 12, map_scale_layers [8]


def _words():
    """Two paragraphs of (up to) 3 sentences of (up to) 4 words; paragraph 1 has 2 sentences, its third is padding."""
    word_mask = torch.tensor(
        [
            [[1, 1, 1, 0], [1, 1, 0, 0], [1, 0, 0, 0]],
            [[1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 0, 0]],
        ],
        dtype=torch.bool,
    )
    word_ids = torch.arange(24).reshape(2, 3, 4) % CONFIG.vocab_size * word_mask
    sentence_mask = torch.tensor([[True, True, True], [True, True, False]])
    return word_ids, word_mask, sentence_mask


def _grid() -> torch.Tensor:
    return torch.from_numpy(valid_cell_mask(CONFIG.num_clips, CONFIG.map_scale_layers))


def _meta(*tensors: torch.Tensor) -> list[torch.Tensor]:
    return [tensor.to("meta") for tensor in tensors]


# --- check_word_inputs ----------------------------------------------------------------------------------------------


def test_valid_word_inputs_pass():
    word_ids, word_mask, sentence_mask = _words()
    assert check_word_inputs(CONFIG, word_ids, word_mask, sentence_mask) is None
    masked_positions = torch.zeros_like(word_mask)
    masked_positions[0, 0, 1] = True
    check_word_inputs(CONFIG, word_ids, word_mask, sentence_mask, word_ids.clone(), masked_positions)


def test_ids_at_the_vocabulary_bounds_pass():
    word_ids, word_mask, sentence_mask = _words()
    word_ids[0, 0, 0], word_ids[1, 1, 1] = 0, CONFIG.vocab_size - 1
    check_word_inputs(CONFIG, word_ids, word_mask, sentence_mask)


@pytest.mark.parametrize("shape", [(2, 12), (2, 3, 4, 1), (24,)])
def test_word_ids_of_another_rank_are_named(shape):
    word_ids, word_mask, sentence_mask = _words()
    message = f"word_ids: expected (batch, num_sentences, num_words), got {shape}"
    with pytest.raises(InputError, match=re.escape(message)):
        check_word_inputs(CONFIG, word_ids.reshape(shape), word_mask, sentence_mask)


@pytest.mark.parametrize("name", ["word_mask", "masked_word_ids", "masked_positions"])
def test_a_per_word_tensor_of_another_shape_is_named(name):
    word_ids, word_mask, sentence_mask = _words()
    tensors = {"word_mask": word_mask, "masked_word_ids": word_ids.clone(), "masked_positions": word_mask.clone()}
    tensors[name] = tensors[name][:, :, :3]
    with pytest.raises(InputError, match=re.escape(f"{name}: expected shape (2, 3, 4) like word_ids, got (2, 3, 3)")):
        check_word_inputs(CONFIG, word_ids, sentence_mask=sentence_mask, **tensors)


@pytest.mark.parametrize("shape", [(2, 2), (1, 3), (2, 3, 1), (6,)])
def test_a_sentence_mask_of_another_shape_is_named(shape):
    word_ids, word_mask, _ = _words()
    sentence_mask = torch.ones(shape, dtype=torch.bool)
    message = f"sentence_mask: expected (batch, num_sentences) = (2, 3), got {shape}"
    with pytest.raises(InputError, match=re.escape(message)):
        check_word_inputs(CONFIG, word_ids, word_mask, sentence_mask)


@pytest.mark.parametrize("bad_id", [CONFIG.vocab_size, CONFIG.vocab_size + 7, -1])
def test_ids_outside_the_vocabulary_are_refused(bad_id):
    word_ids, word_mask, sentence_mask = _words()
    word_ids[1, 0, 2] = bad_id
    message = f"word_ids: id {bad_id} (word 2 of sentence 0 of paragraph 1) is outside [0, vocab_size=40)"
    with pytest.raises(InputError, match=re.escape(message)):
        check_word_inputs(CONFIG, word_ids, word_mask, sentence_mask)


def test_a_real_sentence_without_words_is_named():
    word_ids, word_mask, sentence_mask = _words()
    word_mask[1, 1] = False
    with pytest.raises(InputError, match="^sentence 1 of paragraph 1 has no words$"):
        check_word_inputs(CONFIG, word_ids, word_mask, sentence_mask)


def test_the_first_empty_sentence_in_batch_order_is_named():
    word_ids, word_mask, sentence_mask = _words()
    word_mask[1, 0] = False
    word_mask[0, 2] = False
    with pytest.raises(InputError, match="^sentence 2 of paragraph 0 has no words$"):
        check_word_inputs(CONFIG, word_ids, word_mask, sentence_mask)


def test_a_padding_sentence_without_words_is_not_an_error():
    word_ids, word_mask, sentence_mask = _words()
    assert not word_mask[1, 2].any() and not sentence_mask[1, 2], "paragraph 1's third sentence is padding"
    sentence_mask[0, 2], word_mask[0, 2] = False, False  # paragraph 0 is now 2 sentences long as well
    check_word_inputs(CONFIG, word_ids, word_mask, sentence_mask)


def test_a_paragraph_without_sentences_is_named():
    word_ids, word_mask, sentence_mask = _words()
    sentence_mask[1], word_mask[1] = False, False
    with pytest.raises(InputError, match="^paragraph 1 of the batch has no sentence$"):
        check_word_inputs(CONFIG, word_ids, word_mask, sentence_mask)


def _out_of_vocabulary(word_ids, word_mask, sentence_mask):
    word_ids[0, 0, 0] = CONFIG.vocab_size + 1


def _empty_sentence(word_ids, word_mask, sentence_mask):
    word_mask[0, 1] = False


def _paragraph_without_sentence(word_ids, word_mask, sentence_mask):
    sentence_mask[1], word_mask[1] = False, False


@pytest.mark.parametrize("fault", [_out_of_vocabulary, _empty_sentence, _paragraph_without_sentence])
def test_word_values_are_not_read_off_the_host(fault):
    tensors = _words()
    fault(*tensors)
    with pytest.raises(InputError):
        check_word_inputs(CONFIG, *tensors)  # refused on the host ...
    check_word_inputs(CONFIG, *_meta(*tensors))  # ... not read on the device


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"word_ids": (2, 12)}, "word_ids: expected (batch, num_sentences, num_words), got (2, 12)"),
        ({"word_mask": (2, 3, 2)}, "word_mask: expected shape (2, 3, 4) like word_ids, got (2, 3, 2)"),
        ({"masked_positions": (1, 3, 4)}, "masked_positions: expected shape (2, 3, 4) like word_ids, got (1, 3, 4)"),
        ({"sentence_mask": (2,)}, "sentence_mask: expected (batch, num_sentences) = (2, 3), got (2,)"),
    ],
)
def test_word_shapes_are_checked_off_the_host(change, message):
    word_ids, word_mask, sentence_mask = _words()
    tensors = {"word_ids": word_ids, "word_mask": word_mask, "sentence_mask": sentence_mask}
    tensors["masked_positions"] = word_mask.clone()
    for name, shape in change.items():
        tensors[name] = torch.zeros(shape, dtype=tensors[name].dtype)
    meta = {name: tensor.to("meta") for name, tensor in tensors.items()}
    with pytest.raises(InputError, match=re.escape(message)):
        check_word_inputs(CONFIG, **meta)


# --- check_clip_features --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch", [None, 3])
def test_valid_clip_features_pass(batch):
    assert check_clip_features(CONFIG, torch.zeros(3, 8, 12), batch=batch) is None
    check_clip_features(CONFIG, torch.zeros(3, 8, 12, device="meta"), batch=batch)


@pytest.mark.parametrize(
    ("shape", "batch", "expected"),
    [
        ((3, 8, 11), None, "('num_videos', 8, 12)"),  # another feature_dim
        ((3, 16, 12), None, "('num_videos', 8, 12)"),  # another num_clips
        ((8, 12), None, "('num_videos', 8, 12)"),  # no batch axis
        ((1, 3, 8, 12), None, "('num_videos', 8, 12)"),  # one axis too many
        ((2, 8, 12), 3, "(3, 8, 12)"),  # not one video per paragraph
    ],
)
@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_clip_features_of_another_shape_are_named(shape, batch, expected, device):
    message = f"clip_features: expected (batch, num_clips, feature_dim) = {expected}, got {shape}"
    with pytest.raises(InputError, match=re.escape(message)):
        check_clip_features(CONFIG, torch.zeros(shape, device=device), batch=batch)


# --- check_map_mask -------------------------------------------------------------------------------------------------

_MAP_MASK_MESSAGE = "map_mask: expected the (8, 8) valid-cell mask of num_clips=8, map_scale_layers=[8]; got a"


def test_the_configs_map_mask_passes():
    assert check_map_mask(CONFIG, _grid(), _grid()) is None
    check_map_mask(CONFIG, _grid(), _grid().to(torch.uint8))  # a 0/1 mask of another dtype is the same mask


def test_a_map_mask_of_another_grid_with_the_same_shape_is_refused():
    sparse = torch.from_numpy(valid_cell_mask(8, [4]))  # K = 8, spans of at most 4 clips
    assert sparse.shape == (8, 8) and not torch.equal(sparse, _grid())
    with pytest.raises(InputError, match=re.escape(f"{_MAP_MASK_MESSAGE} different mask of shape (8, 8)")):
        check_map_mask(CONFIG, _grid(), sparse)


def test_a_map_mask_with_one_cell_changed_is_refused():
    mask = _grid().clone()
    mask[3, 2] = True  # a span ending before it starts
    with pytest.raises(InputError, match=re.escape(f"{_MAP_MASK_MESSAGE} different mask of shape (8, 8)")):
        check_map_mask(CONFIG, _grid(), mask)


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_a_map_mask_of_another_size_is_refused(device):
    larger = torch.from_numpy(valid_cell_mask(16, [16])).to(device)
    with pytest.raises(InputError, match=re.escape(f"{_MAP_MASK_MESSAGE} different mask of shape (16, 16)")):
        check_map_mask(CONFIG, _grid().to(device), larger)
    with pytest.raises(InputError, match=re.escape(f"{_MAP_MASK_MESSAGE} different mask of shape (2, 8, 8)")):
        check_map_mask(CONFIG, _grid().to(device), torch.stack([_grid(), _grid()]).to(device))


def test_map_mask_values_are_not_read_off_the_host():
    sparse = torch.from_numpy(valid_cell_mask(8, [4]))
    check_map_mask(CONFIG, _grid().to("meta"), sparse.to("meta"))


def test_a_host_map_mask_is_compared_with_the_configs_grid_when_the_model_is_off_the_host():
    check_map_mask(CONFIG, _grid().to("meta"), _grid())
    with pytest.raises(InputError, match=re.escape(f"{_MAP_MASK_MESSAGE} different mask of shape (8, 8)")):
        check_map_mask(CONFIG, _grid().to("meta"), torch.from_numpy(valid_cell_mask(8, [4])))


# --- check_sentence_index -------------------------------------------------------------------------------------------

_SENTENCE_MASK = torch.tensor([[True, False, True], [True, True, False]])  # real sentences at flat 0, 2, 3, 4


def test_the_real_sentence_positions_pass():
    assert check_sentence_index(torch.tensor([0, 2, 3, 4]), _SENTENCE_MASK) is None
    check_sentence_index(None, _SENTENCE_MASK)  # the model computes it


@pytest.mark.parametrize(
    ("sentence_index", "found"),
    [
        (torch.tensor([0, 2, 3, 4], dtype=torch.int32), "(4,) torch.int32"),
        (torch.tensor([0.0, 2.0, 3.0, 4.0]), "(4,) torch.float32"),
        (torch.tensor([[0, 2, 3, 4]]), "(1, 4) torch.int64"),
        (torch.tensor(0), "() torch.int64"),
    ],
)
@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_a_sentence_index_of_another_dtype_or_rank_is_named(sentence_index, found, device):
    message = f"sentence_index: expected a (num_real,) int64 tensor, got {found}"
    with pytest.raises(InputError, match=re.escape(message)):
        check_sentence_index(sentence_index.to(device), _SENTENCE_MASK.to(device))


@pytest.mark.parametrize("sentence_index", [[0, 1, 2, 3], [0, 2, 3], [0, 2, 3, 4, 5], [4, 3, 2, 0]])
def test_a_sentence_index_that_is_not_the_real_positions_is_named(sentence_index):
    message = (
        "sentence_index: expected the flat positions of the real sentences of sentence_mask ([0, 2, 3, 4]...), "
        f"got {sentence_index}..."
    )
    with pytest.raises(InputError, match=re.escape(message)):
        check_sentence_index(torch.tensor(sentence_index), _SENTENCE_MASK)


def test_a_long_sentence_index_is_shown_cut_to_eight_positions():
    sentence_mask = torch.ones(2, 6, dtype=torch.bool)
    wrong = torch.arange(1, 13)
    message = "([0, 1, 2, 3, 4, 5, 6, 7]...), got [1, 2, 3, 4, 5, 6, 7, 8]..."
    with pytest.raises(InputError, match=re.escape(message) + "$"):
        check_sentence_index(wrong, sentence_mask)


def test_sentence_index_values_are_not_read_off_the_host():
    wrong = torch.tensor([0, 1, 2, 3])
    check_sentence_index(wrong.to("meta"), _SENTENCE_MASK.to("meta"))
    check_sentence_index(wrong.to("meta"), _SENTENCE_MASK)  # either tensor off the host skips the value check
    check_sentence_index(wrong, _SENTENCE_MASK.to("meta"))
