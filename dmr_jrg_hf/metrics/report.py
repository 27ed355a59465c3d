"""All protocols in one call and the printed results table (DESIGN §5).

Results are plain nested dicts, ``{protocol: {metric: value}}`` for one system and ``{system: {protocol: {metric:
value}}}`` for a comparison, so that they go to JSON, TensorBoard (``eval/vprg/R@1,IoU=0.5``) and model cards
unchanged. Every value is a percentage except the ranks ``MedR`` and ``MeanR``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence

import numpy as np

from ..errors import InputError
from ._checks import as_gt_moments, as_pred_moments, as_sentence_paragraph
from .grounding import IOU_THRESHOLDS, grounding_metrics_from_ious, prediction_ious
from .retrieval import gt_video_ranks, retrieval_metrics_from_ranks
from .vcmr import CorpusCandidates, vcmr_metrics
from .vprg import vprg_metrics_from_parts

__all__ = ["PROTOCOLS", "PROTOCOL_DESCRIPTIONS", "evaluate_all", "format_results_table"]

PROTOCOLS = ("vprg", "vcmr", "retrieval", "grounding")
PROTOCOL_DESCRIPTIONS = {
    "vprg": "per sentence: GT video ranked <= K and predicted moment in it at IoU >= m (paper's tables)",
    "vcmr": "per sentence: correct (video, moment) pair in the top K of one corpus-wide list (JSG)",
    "retrieval": "paragraph -> video: GT video ranked <= K; MedR / MeanR are ranks",
    "grounding": "in the GT video: top-K moments at IoU >= m, mIoU, paragraph-level, order consistency",
}
_REQUIRED_INPUTS = {
    "vprg": ("similarity", "gt_video", "sentence_paragraph", "gt_moments", "pred_moments"),
    "vcmr": ("gt_video", "sentence_paragraph", "gt_moments", "corpus_candidates"),
    "retrieval": ("similarity", "gt_video"),
    "grounding": ("sentence_paragraph", "gt_moments", "pred_moments"),
}


def _select_protocols(protocols: Sequence[str] | None, given: set[str]) -> list[str]:
    """The protocols to run: those asked for (checked), or every protocol whose inputs were all given."""
    if protocols is None:
        selected = [name for name in PROTOCOLS if set(_REQUIRED_INPUTS[name]) <= given]
        if not selected:
            raise InputError(f"evaluate_all: no protocol has all its inputs; required: {_REQUIRED_INPUTS}")
        return selected
    for name in protocols:
        if name not in PROTOCOLS:
            close = difflib.get_close_matches(str(name), PROTOCOLS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InputError(f"protocols: unknown protocol {name!r}{hint}; valid: {list(PROTOCOLS)}")
        missing = [key for key in _REQUIRED_INPUTS[name] if key not in given]
        if missing:
            raise InputError(f"protocol {name!r} needs {missing}, which were not given")
    return [name for name in PROTOCOLS if name in protocols]


def evaluate_all(
    similarity=None,
    gt_video=None,
    sentence_paragraph=None,
    gt_moments=None,
    pred_moments=None,
    *,
    corpus_candidates: CorpusCandidates | None = None,
    protocols: Sequence[str] | None = None,
    vprg_top_n: int = 1,
    thresholds: Sequence[float] = IOU_THRESHOLDS,
) -> dict[str, dict[str, float]]:
    """Run the requested protocols, computing ranks and IoUs once for all of them.

    Args:
        similarity (np.ndarray of shape (num_paragraphs, num_videos), optional): paragraph->video scores.
        gt_video (np.ndarray of int, shape (num_paragraphs,), optional): ground-truth video column per paragraph.
        sentence_paragraph (np.ndarray of int, shape (num_sentences,), optional): paragraph of each sentence.
        gt_moments (np.ndarray of shape (num_sentences, 2), optional): ground-truth moments, seconds.
        pred_moments (np.ndarray of shape (num_sentences, n, 2), optional): moments in the GT video, best first.
        corpus_candidates (CorpusCandidates, optional): corpus-wide lists for ``vcmr``.
        protocols (Sequence[str], optional): subset of ``PROTOCOLS``; default: every protocol whose inputs are given.
        vprg_top_n (int): within-video criterion of ``vprg`` (1: top-1 moment).
        thresholds (Sequence[float]): IoU thresholds of every protocol.

    Returns:
        dict[str, dict[str, float]]: ``{protocol: {metric: value}}`` in the order of ``PROTOCOLS``.

    Raises:
        InputError: an unknown protocol, a protocol without its inputs, or an invalid input (named).

    Example:
        >>> evaluate_all([[0.9, 0.1]], [0], protocols=["retrieval"])["retrieval"]["R@1"]
        100.0
    """
    inputs = {
        "similarity": similarity,
        "gt_video": gt_video,
        "sentence_paragraph": sentence_paragraph,
        "gt_moments": gt_moments,
        "pred_moments": pred_moments,
        "corpus_candidates": corpus_candidates,
    }
    selected = _select_protocols(protocols, {key for key, value in inputs.items() if value is not None})
    if {"vprg", "grounding", "vcmr"} & set(selected):
        num_paragraphs = None if gt_video is None else int(np.size(gt_video))
        inputs["sentence_paragraph"] = as_sentence_paragraph(sentence_paragraph, num_paragraphs)
        inputs["gt_moments"] = as_gt_moments(gt_moments, len(inputs["sentence_paragraph"]))
    return _run_protocols(selected, inputs, vprg_top_n, thresholds)


def _run_protocols(
    selected: list[str], inputs: dict, vprg_top_n: int, thresholds: Sequence[float]
) -> dict[str, dict[str, float]]:
    """Compute ranks and IoUs once, only when a selected protocol needs them, then every protocol's metrics."""
    paragraphs, gt_moments = inputs["sentence_paragraph"], inputs["gt_moments"]
    if {"vprg", "retrieval"} & set(selected):
        ranks = gt_video_ranks(inputs["similarity"], inputs["gt_video"])
    if {"vprg", "grounding"} & set(selected):
        pred_moments = as_pred_moments(inputs["pred_moments"], len(paragraphs))
        ious = prediction_ious(pred_moments, gt_moments)
    results: dict[str, dict[str, float]] = {}
    if "vprg" in selected:
        results["vprg"] = vprg_metrics_from_parts(ranks, paragraphs, ious, vprg_top_n, thresholds=thresholds)
    if "vcmr" in selected:
        candidates = inputs["corpus_candidates"]
        results["vcmr"] = vcmr_metrics(candidates, inputs["gt_video"], paragraphs, gt_moments, thresholds=thresholds)
    if "retrieval" in selected:
        results["retrieval"] = retrieval_metrics_from_ranks(ranks)
    if "grounding" in selected:
        results["grounding"] = grounding_metrics_from_ious(
            ious, pred_moments[:, 0], gt_moments, paragraphs, thresholds=thresholds
        )
    return results


def _format_block(rows: list[tuple[str, list[str]]], metrics: list[str], name_width: int) -> list[str]:
    """One header line and one line per system, columns right-aligned."""
    widths = [max(len(metric), 7) for metric in metrics]
    header = "system".ljust(name_width) + "".join(f"  {m:>{w}}" for m, w in zip(metrics, widths, strict=True))
    lines = [header]
    for name, cells in rows:
        lines.append(name.ljust(name_width) + "".join(f"  {c:>{w}}" for c, w in zip(cells, widths, strict=True)))
    return lines


def format_results_table(results: Mapping[str, Mapping[str, Mapping[str, float]]], max_columns: int = 6) -> str:
    """Render ``{system: {protocol: {metric: value}}}`` as text: one titled table per protocol, one row per system.

    Protocols come in the order of ``PROTOCOLS`` (then any other, alphabetically); metrics in the order they first
    appear; a metric a system lacks prints as ``-``. Wide protocols are split into blocks of ``max_columns`` metrics.

    Example:
        >>> print(format_results_table({"model": {"retrieval": {"R@1": 50.0, "MedR": 2.0}}}))
        [retrieval] paragraph -> video: GT video ranked <= K; MedR / MeanR are ranks
        system      R@1     MedR
        model     50.00     2.00
    """
    if not results:
        raise InputError("format_results_table: no systems to show")
    present = {protocol for per_system in results.values() for protocol in per_system}
    ordered = [p for p in PROTOCOLS if p in present] + sorted(present - set(PROTOCOLS))
    name_width = max(len("system"), *(len(name) for name in results))
    sections = []
    for protocol in ordered:
        metrics = list(dict.fromkeys(m for per_system in results.values() for m in per_system.get(protocol, {})))
        title = f"[{protocol}] {PROTOCOL_DESCRIPTIONS.get(protocol, '')}".rstrip()
        lines = [title]
        for start in range(0, len(metrics), max_columns):
            block = metrics[start : start + max_columns]
            rows = [
                (name, [_format_value(per_system.get(protocol, {}).get(m)) for m in block])
                for name, per_system in results.items()
            ]
            lines.extend(_format_block(rows, block, name_width))
        sections.append("\n".join(lines))
    return "\n\n".join(sections)


def _format_value(value: float | None) -> str:
    """Two decimals, or ``-`` for a missing metric."""
    return "-" if value is None else f"{float(value):.2f}"
