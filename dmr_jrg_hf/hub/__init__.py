"""Hugging Face Hub integration, one module per job.

Two ways to load a saved DMR-JRG folder or Hub repository:

* with the package installed, ``import dmr_jrg_hf`` registers `DMRJRGConfig`, `DMRJRGModel` and `DMRJRGProcessor`
  with ``AutoConfig``, ``AutoModel`` and ``AutoProcessor`` (`registration`);
* without it, ``AutoModel.from_pretrained(repo, trust_remote_code=True)`` runs the flattened code files stored next to
  the weights (`remote_code`).

`model_folder` saves a folder ready for sharing (`save_for_hub`) or finishes one the trainer saved
(`complete_model_folder`: remote code + model card), `model_card` renders the card (``README.md``) from its template
``model_card.md``, and `push` uploads a finished model folder or an exported benchmark.
"""

from .model_card import write_model_card
from .model_folder import complete_model_folder, save_for_hub
from .push import push_benchmark_to_hub, push_model_to_hub
from .registration import register_auto_classes

__all__ = [
    "complete_model_folder",
    "push_benchmark_to_hub",
    "push_model_to_hub",
    "register_auto_classes",
    "save_for_hub",
    "write_model_card",
]
