"""Remote code: the flattened module files load with trust_remote_code where the package is not installed."""

from __future__ import annotations

import ast
import json

import pytest
from hub_helpers import assert_same_outputs, load_isolated

from dmr_jrg_hf.errors import DataFormatError
from dmr_jrg_hf.hub.remote_code import REMOTE_CODE_AUTO_MAP, export_remote_code, remote_code_sources


def test_remote_code_files_are_flat_and_self_contained():
    sources = remote_code_sources()
    assert {"modeling_dmr_jrg.py", "configuration_dmr_jrg.py", "processing_dmr_jrg.py"} <= set(sources)
    assert "modules_temporal_adjacent_network.py" in sources, "subpackage modules are flattened"
    assert not any(name.startswith("hub_") for name in sources), "the hub package is not part of the model's code"
    for name, text in sources.items():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.level:
                assert node.level == 1 and f"{node.module}.py" in sources, f"{name}: import of {node.module}"
    for entry in REMOTE_CODE_AUTO_MAP.values():
        assert f"{entry.split('.')[0]}.py" in sources, entry
    header = sources["modules_temporal_adjacent_network.py"].splitlines()[0]
    assert header.startswith("# Flattened copy of dmr_jrg_hf/modules/temporal_adjacent_network.py"), header


def test_export_writes_the_code_and_the_auto_map(saved):
    assert json.loads((saved.folder / "config.json").read_text())["auto_map"] == REMOTE_CODE_AUTO_MAP
    processor_config = json.loads((saved.folder / "processor_config.json").read_text())
    assert processor_config["auto_map"] == {"AutoProcessor": REMOTE_CODE_AUTO_MAP["AutoProcessor"]}
    for name, text in remote_code_sources().items():
        assert (saved.folder / name).read_text() == text, f"{name} written as flattened"


def test_export_needs_a_saved_model(tmp_path):
    with pytest.raises(DataFormatError, match="no config.json; save the model with save_pretrained first"):
        export_remote_code(tmp_path)
    assert not list(tmp_path.iterdir()), "nothing written into a folder without a model"


@pytest.mark.slow
def test_trust_remote_code_without_the_package(saved, tmp_path):
    found, stdout = load_isolated(str(saved.folder), saved, tmp_path)
    model_module, config_name, processor_module = stdout.split()[-3:]
    assert model_module.startswith("transformers_modules."), f"remote code was not used: {stdout}"
    assert processor_module.startswith("transformers_modules.") and config_name == "DMRJRGConfig", stdout
    assert_same_outputs(found, saved.expected, "trust_remote_code from a folder")
