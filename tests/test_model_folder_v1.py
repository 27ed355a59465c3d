"""Folders saved by earlier versions still load and compute what they computed then (`fixtures/model_folder_v1`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fixtures.make_model_folder_v1 import FOLDER, expected_outputs, fixed_batch

from dmr_jrg_hf import DMRJRGProcessor
from dmr_jrg_hf.modeling_dmr_jrg import DMRJRGModel


def test_the_fixture_folder_is_small_and_has_no_pickle():
    files = [path for path in Path(FOLDER).iterdir() if path.is_file()]
    assert sum(path.stat().st_size for path in files) < 500_000
    assert not [path.name for path in files if path.suffix in {".bin", ".pt", ".pkl", ".pth"}]


def test_a_v1_folder_loads_and_gives_the_outputs_recorded_when_it_was_saved():
    model = DMRJRGModel.from_pretrained(FOLDER)
    processor = DMRJRGProcessor.from_pretrained(FOLDER)
    expected = json.loads((Path(FOLDER) / "expected_outputs.json").read_text(encoding="utf-8"))
    found = expected_outputs(model, fixed_batch(processor))
    assert found.keys() == expected.keys()
    for name, value in expected.items():
        np.testing.assert_allclose(found[name], value, rtol=1e-5, atol=1e-6, err_msg=f"output {name}")


@pytest.mark.parametrize("name", ["score_maps_at_valid_cells", "retrieval_similarity"])
def test_the_recorded_outputs_are_not_degenerate(name):
    values = np.asarray(json.loads((Path(FOLDER) / "expected_outputs.json").read_text(encoding="utf-8"))[name])
    assert values.size > 1 and values.std() > 0, f"{name} is constant: the comparison would prove little"
