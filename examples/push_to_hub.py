"""Share a trained model (weights, processor, remote code, model card) and an exported benchmark on the Hub.

    python examples/push_to_hub.py outputs/demo me/dmr-jrg-synthetic

CLI equivalent: ``dmr-jrg push outputs/demo me/dmr-jrg-synthetic --write-card`` and
``dmr-jrg push data/charades_sta me/charades-sta-dmr-jrg --dataset``. ``HF_ENDPOINT`` selects the Hub.
"""

from __future__ import annotations

import sys

from dmr_jrg_hf.hub import complete_model_folder, push_model_to_hub

folder, repo_id = sys.argv[1], sys.argv[2]
# the demo/trainer folder: add flattened code + auto_map and the model card (results.json is picked up when present)
complete_model_folder(folder, model_name=repo_id.split("/")[-1], repo_id=repo_id)
print(push_model_to_hub(folder, repo_id))
