"""dmr_jrg_hf: weakly supervised video paragraph retrieval and grounding (DMR-JRG) for the Hugging Face ecosystem."""

import logging

from .cards import write_model_card
from .configuration_dmr_jrg import ABLATION_PRESETS, PRESETS, DMRJRGConfig
from .data import BENCHMARKS, generate_synthetic_benchmark, load_benchmark, prepare_benchmark
from .errors import ConfigError, DataFormatError, DMRJRGError, InputError
from .hub import push_benchmark_to_hub, push_model_to_hub, register_auto_classes, save_for_hub
from .inference import VideoCorpusIndex, ground, retrieve, retrieve_and_ground
from .metrics import evaluate_all, format_results_table, load_metric
from .modeling_dmr_jrg import DMRJRGModel, DMRJRGModelOutput, DMRJRGPreTrainedModel
from .processing_dmr_jrg import DMRJRGProcessor
from .results import Moment, ParagraphResult, RetrievalHit, SentenceGrounding
from .training import DMRJRGTrainer, TrainingArguments, evaluate_baselines, evaluate_model
from .version import __version__

logging.getLogger(__name__).addHandler(logging.NullHandler())
register_auto_classes()

__all__ = [
    "ABLATION_PRESETS",
    "BENCHMARKS",
    "PRESETS",
    "ConfigError",
    "DMRJRGConfig",
    "DMRJRGError",
    "DMRJRGModel",
    "DMRJRGModelOutput",
    "DMRJRGPreTrainedModel",
    "DMRJRGProcessor",
    "DMRJRGTrainer",
    "DataFormatError",
    "InputError",
    "Moment",
    "ParagraphResult",
    "RetrievalHit",
    "SentenceGrounding",
    "TrainingArguments",
    "VideoCorpusIndex",
    "__version__",
    "evaluate_all",
    "evaluate_baselines",
    "evaluate_model",
    "format_results_table",
    "generate_synthetic_benchmark",
    "ground",
    "load_benchmark",
    "load_metric",
    "prepare_benchmark",
    "push_benchmark_to_hub",
    "push_model_to_hub",
    "register_auto_classes",
    "retrieve",
    "retrieve_and_ground",
    "save_for_hub",
    "write_model_card",
]
