"""Evaluation metrics of video paragraph retrieval and grounding, in plain numpy (DESIGN §5).

Protocols (each result is named by its protocol): ``vprg`` (the paper's tables), ``vcmr`` (JSG's corpus-wide list),
``retrieval`` (paragraph->video) and ``grounding`` (in the ground-truth video). :func:`evaluate_all` runs them
together, :func:`format_results_table` prints a comparison, and :func:`load_metric` returns the same logic as an
``evaluate`` module that loads offline from this package.
"""

from __future__ import annotations

from pathlib import Path

from .baselines import fixed_window_moments, query_free_saliency_moments, random_retrieval_scores
from .grounding import (
    GROUNDING_CUTOFFS,
    IOU_THRESHOLDS,
    grounding_metrics,
    grounding_metrics_from_ious,
    order_consistency,
    paragraph_recall,
    prediction_ious,
    recall_hits,
)
from .query_units import single_sentence_queries
from .records import EvaluationInputs
from .report import PROTOCOL_DESCRIPTIONS, PROTOCOLS, evaluate_all, format_results_table
from .retrieval import (
    RETRIEVAL_CUTOFFS,
    gt_video_ranks,
    retrieval_metrics,
    retrieval_metrics_from_ranks,
    top_videos,
    video_indices,
)
from .vcmr import (
    VCMR_CUTOFFS,
    VCMR_LIST_LENGTH,
    VIDEO_SCORE_TEMPERATURE,
    CorpusCandidates,
    merge_corpus_candidates,
    vcmr_metrics,
)
from .vprg import VPRG_CUTOFFS, vprg_metrics, vprg_metrics_from_parts

__all__ = [
    "EVALUATE_MODULE_PATH",
    "GROUNDING_CUTOFFS",
    "IOU_THRESHOLDS",
    "PROTOCOLS",
    "PROTOCOL_DESCRIPTIONS",
    "RETRIEVAL_CUTOFFS",
    "VCMR_CUTOFFS",
    "VCMR_LIST_LENGTH",
    "VIDEO_SCORE_TEMPERATURE",
    "VPRG_CUTOFFS",
    "CorpusCandidates",
    "EvaluationInputs",
    "evaluate_all",
    "fixed_window_moments",
    "format_results_table",
    "grounding_metrics",
    "grounding_metrics_from_ious",
    "gt_video_ranks",
    "load_metric",
    "merge_corpus_candidates",
    "order_consistency",
    "paragraph_recall",
    "prediction_ious",
    "query_free_saliency_moments",
    "random_retrieval_scores",
    "recall_hits",
    "retrieval_metrics",
    "retrieval_metrics_from_ranks",
    "single_sentence_queries",
    "top_videos",
    "vcmr_metrics",
    "video_indices",
    "vprg_metrics",
    "vprg_metrics_from_parts",
]

EVALUATE_MODULE_PATH = Path(__file__).resolve().parent / "dmr_jrg"


def load_metric(**kwargs):
    """The ``dmr_jrg`` ``evaluate`` module of this package, loaded offline from its folder.

    Args:
        **kwargs: passed to ``evaluate.load`` (e.g. ``experiment_id``, ``num_process``, ``process_id``).

    Returns:
        evaluate.EvaluationModule: ``compute(predictions=..., references=..., protocols=...)`` returns
        ``{protocol: {metric: value}}`` (see the metric card ``dmr_jrg/README.md``).

    Example:
        >>> metric = load_metric()
        >>> prediction = {"video_scores": [0.9, 0.1], "moments": [[[0.0, 5.0]]]}
        >>> reference = {"video_index": 0, "timestamps": [[0.0, 5.0]]}
        >>> metric.compute(predictions=[prediction], references=[reference])["vprg"]["R@1,IoU=0.7"]
        100.0
    """
    import evaluate  # heavy (datasets, pyarrow): imported only when the module is asked for

    return evaluate.load(str(EVALUATE_MODULE_PATH), **kwargs)
