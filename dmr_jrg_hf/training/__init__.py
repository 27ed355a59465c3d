"""Training and evaluation of DMR-JRG with Accelerate (DESIGN §4-5)."""

from .arguments import MIXED_PRECISION_CHOICES, TrainingArguments
from .evaluation import DEFAULT_PROTOCOLS, EvaluationSet, evaluate_baselines, evaluate_model
from .schedules import step_decay_schedule
from .trainer import DMRJRGTrainer, TrainOutput, adam_optimizer, select_supervised_paragraphs

__all__ = [
    "DEFAULT_PROTOCOLS",
    "MIXED_PRECISION_CHOICES",
    "DMRJRGTrainer",
    "EvaluationSet",
    "TrainOutput",
    "TrainingArguments",
    "adam_optimizer",
    "evaluate_baselines",
    "evaluate_model",
    "select_supervised_paragraphs",
    "step_decay_schedule",
]
