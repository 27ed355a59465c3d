"""dmr_jrg_hf: weakly supervised video paragraph retrieval and grounding (DMR-JRG) for the Hugging Face ecosystem.

The public names below load on first use (PEP 562), so ``import dmr_jrg_hf`` and the ``dmr-jrg`` command do not pay
for ``datasets``, ``evaluate``, ``accelerate`` or ``matplotlib`` until a part that needs them is used. Importing the
package registers the model with transformers' Auto classes.
"""

from __future__ import annotations

import logging

from .hub import register_auto_classes
from .lazy_exports import lazy_exports
from .version import __version__ as __version__

# submodule -> the public names it defines
_SUBMODULE_EXPORTS: dict[str, tuple[str, ...]] = {
    "configuration_dmr_jrg": ("ABLATION_PRESETS", "PRESETS", "DMRJRGConfig"),
    "data": ("BENCHMARKS", "generate_synthetic_benchmark", "load_benchmark", "prepare_benchmark"),
    "errors": ("ConfigError", "DataFormatError", "DMRJRGError", "InputError"),
    "features": ("extract_features",),
    "hub": ("push_benchmark_to_hub", "push_model_to_hub", "save_for_hub", "write_model_card"),
    "inference": ("DMRJRGPredictor", "VideoCorpusIndex", "ground", "retrieve", "retrieve_and_ground"),
    "metrics": ("evaluate_all", "format_results_table", "load_metric"),
    "model_builder": ("build_model_and_processor",),
    "modeling_dmr_jrg": ("DMRJRGModel", "DMRJRGModelOutput", "DMRJRGPreTrainedModel"),
    "processing_dmr_jrg": ("DMRJRGProcessor",),
    "results": ("Moment", "ParagraphResult", "RetrievalHit", "SentenceGrounding"),
    "training": ("DMRJRGTrainer", "TrainingArguments", "evaluate_baselines", "evaluate_model"),
}
_names, __getattr__, __dir__ = lazy_exports(__name__, _SUBMODULE_EXPORTS, globals())
__all__ = sorted([*_names, "__version__", "register_auto_classes"])


logging.getLogger(__name__).addHandler(logging.NullHandler())
register_auto_classes()
