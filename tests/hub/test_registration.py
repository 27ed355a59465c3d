"""Auto* registration: after ``import dmr_jrg_hf`` the Auto classes give the package classes, without remote code."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from hub_helpers import REPO_ROOT, assert_same_outputs, model_outputs, run_command
from transformers import AutoConfig, AutoModel, AutoProcessor

import dmr_jrg_hf
from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
from dmr_jrg_hf.modeling_dmr_jrg import DMRJRGModel
from dmr_jrg_hf.processing_dmr_jrg import DMRJRGProcessor


def test_auto_classes_resolve_after_import(saved):
    assert "register_auto_classes" in dmr_jrg_hf.__all__
    assert type(AutoConfig.for_model("dmr_jrg")) is DMRJRGConfig
    model = AutoModel.from_pretrained(saved.folder).eval()
    assert type(model) is DMRJRGModel, "AutoModel gives the package class without trust_remote_code"
    inputs = dict(np.load(saved.inputs_path))
    inputs.pop("paragraphs")
    processor = DMRJRGProcessor.from_pretrained(saved.folder)
    assert_same_outputs(model_outputs(model, processor, inputs), saved.expected, "package AutoModel")


def test_auto_processor_resolves_after_import(saved):
    processor = AutoProcessor.from_pretrained(saved.folder)
    assert type(processor) is DMRJRGProcessor and processor.video_feature_spec["name"] == "i3d"


@pytest.mark.slow
def test_auto_classes_in_a_fresh_offline_process(saved, tmp_path):
    script = (
        "import sys, dmr_jrg_hf\n"
        "from transformers import AutoConfig, AutoModel, AutoProcessor\n"
        "names = [type(AutoConfig.from_pretrained(sys.argv[1])).__name__, type(AutoModel.from_pretrained(sys.argv[1]))"
        ".__name__, type(AutoProcessor.from_pretrained(sys.argv[1])).__name__]\n"
        "print(' '.join(names))\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf_home"), "PYTHONPATH": str(REPO_ROOT)}
    result = run_command([sys.executable, "-c", script, str(saved.folder)], env, tmp_path)
    assert result.stdout.split()[-3:] == ["DMRJRGConfig", "DMRJRGModel", "DMRJRGProcessor"], result.stdout
