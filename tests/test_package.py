from __future__ import annotations

import subprocess
import sys

import pytest

import dmr_jrg_hf


def test_every_public_name_resolves():
    missing = [name for name in dmr_jrg_hf.__all__ if getattr(dmr_jrg_hf, name, None) is None]
    assert not missing, f"public names that do not load: {missing}"


@pytest.mark.slow
def test_importing_the_package_loads_no_data_or_plotting_library():
    code = (
        "import sys, dmr_jrg_hf; from transformers import AutoConfig; "
        "print(type(AutoConfig.for_model('dmr_jrg')).__name__); "
        "print(sorted(m for m in ('datasets', 'evaluate', 'gensim', 'matplotlib', 'h5py') if m in sys.modules))"
    )
    lines = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert lines[0] == "DMRJRGConfig", "importing the package registers the Auto classes"
    assert lines[1] == "[]", f"eagerly imported: {lines[1]}"
