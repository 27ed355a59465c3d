"""Load a DMR-JRG model from the Hub (or a folder) with one line, with or without the package installed.

    python examples/load_from_hub.py me/dmr-jrg-synthetic

With ``dmr_jrg_hf`` installed, ``import dmr_jrg_hf`` registers the Auto* classes. Without it,
``trust_remote_code=True`` runs the flattened code files stored next to the weights (``modeling_dmr_jrg.py``, ...).
"""

from __future__ import annotations

import sys

import numpy as np
from transformers import AutoModel

repo = sys.argv[1] if len(sys.argv) > 1 else "outputs/demo"
model = AutoModel.from_pretrained(repo, trust_remote_code=True).eval()
print(type(model).__module__, model.config.num_clips, model.config.feature_dim)

try:
    from dmr_jrg_hf import DMRJRGProcessor
    from dmr_jrg_hf.inference import ground

    processor = DMRJRGProcessor.from_pretrained(repo)
    features = np.random.default_rng(0).random((120, model.config.feature_dim), dtype=np.float32)
    for grounding in ground(model, processor, ["the person opens the box."], features, duration=120.0):
        print(grounding.sentence, grounding.moments[0])
except ImportError:
    print("dmr_jrg_hf is not installed: the model loaded through remote code")
