"""dmr_jrg_hf: weakly supervised video paragraph retrieval and grounding (DMR-JRG) for the Hugging Face ecosystem."""

import logging

from .cards import write_model_card
from .configuration_dmr_jrg import ABLATION_PRESETS, PRESETS, DMRJRGConfig
from .errors import ConfigError, DataFormatError, DMRJRGError, InputError
from .hub import push_benchmark_to_hub, push_model_to_hub, register_auto_classes, save_for_hub
from .inference import VideoCorpusIndex, ground, retrieve, retrieve_and_ground

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
register_auto_classes()

__all__ = [
    "ABLATION_PRESETS",
    "PRESETS",
    "ConfigError",
    "DMRJRGConfig",
    "DMRJRGError",
    "DataFormatError",
    "InputError",
    "VideoCorpusIndex",
    "__version__",
    "ground",
    "push_benchmark_to_hub",
    "push_model_to_hub",
    "register_auto_classes",
    "retrieve",
    "retrieve_and_ground",
    "save_for_hub",
    "write_model_card",
]
