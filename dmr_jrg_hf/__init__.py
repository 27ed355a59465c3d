"""dmr_jrg_hf: weakly supervised video paragraph retrieval and grounding (DMR-JRG) for the Hugging Face ecosystem."""

import logging

from .configuration_dmr_jrg import ABLATION_PRESETS, PRESETS, DMRJRGConfig
from .errors import ConfigError, DataFormatError, DMRJRGError, InputError

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "ABLATION_PRESETS",
    "PRESETS",
    "ConfigError",
    "DMRJRGConfig",
    "DMRJRGError",
    "DataFormatError",
    "InputError",
    "__version__",
]
