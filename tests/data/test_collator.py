from __future__ import annotations

import numpy as np
import pytest
import torch

from dmr_jrg_hf.data.collator import DMRJRGCollator
from dmr_jrg_hf.errors import InputError

ROWS = [
    {
        "video_id": "v1",
        "duration": 20.0,
        "sentences": ["a man opens the door", "he walks out"],
        "timestamps": [[0, 5], [5, 9]],
    },
    {"video_id": "v2", "duration": 8.0, "sentences": ["the dog barks"], "timestamps": [[1, 2]]},
]


@pytest.fixture
def features():
    rng = np.random.default_rng(0)
    return {"v1": rng.random((30, 12), dtype=np.float32), "v2": rng.random((9, 12), dtype=np.float32)}


def test_weak_collator_never_outputs_timestamps(tiny_processor, features):
    batch = DMRJRGCollator(tiny_processor, features)(ROWS)
    assert "timestamps" not in batch and "has_timestamps" not in batch
    assert tuple(batch["clip_features"].shape) == (2, 8, 12)


def test_supervised_collator_adds_timestamps(tiny_processor, features):
    rows = [dict(ROWS[0], has_timestamps=False), ROWS[1]]
    batch = DMRJRGCollator(tiny_processor, features, include_timestamps=True)(rows)
    assert batch["has_timestamps"].tolist() == [False, True]
    assert batch["timestamps"][0, 1].tolist() == [5.0, 9.0]


def test_masks_change_with_epoch_and_repeat_within_it(tiny_processor, features):
    collator = DMRJRGCollator(tiny_processor, features, seed=1)
    rows = [dict(ROWS[0], sentences=["a man opens the door of the kitchen and walks out of the room"])]
    first = collator(rows)["masked_positions"]
    assert torch.equal(first, collator(rows)["masked_positions"])
    masks = set()
    for epoch in range(6):
        collator.set_epoch(epoch)
        masks.add(tuple(collator(rows)["masked_positions"].flatten().tolist()))
    assert len(masks) > 1, "word masks never change across epochs"


def test_missing_video_is_named(tiny_processor, features):
    with pytest.raises(InputError, match="v3"):
        DMRJRGCollator(tiny_processor, features)([dict(ROWS[0], video_id="v3")])


def test_rows_of_one_video_share_a_group_id(tiny_processor, features):
    rows = [ROWS[1], ROWS[0], dict(ROWS[1], sentences=["the dog sits"]), ROWS[0]]
    assert DMRJRGCollator(tiny_processor, features)(rows)["video_group_ids"].tolist() == [0, 1, 0, 1]
    assert DMRJRGCollator(tiny_processor, features)(ROWS)["video_group_ids"].tolist() == [0, 1]
