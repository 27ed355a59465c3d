"""``evaluate`` module of DMR-JRG: video paragraph retrieval and grounding metrics (protocols vprg, vcmr, retrieval,
grounding). All logic lives in ``dmr_jrg_hf.metrics`` (plain numpy); this file only declares the input format.

Load it offline with ``dmr_jrg_hf.metrics.load_metric()`` or ``evaluate.load(<path of this folder>)``.
"""

from __future__ import annotations

import datasets
import evaluate

from dmr_jrg_hf.metrics import IOU_THRESHOLDS, EvaluationInputs

__all__ = ["DMRJRG", "FEATURES_BY_CONFIG"]

_DESCRIPTION = """\
Metrics of video paragraph retrieval and grounding (VPRG) as used by DMR-JRG (paper §IV-A) and its peers. One example
is one paragraph query: its similarity to every corpus video, and the predicted moments of its sentences in its
ground-truth video. Protocols: `vprg` (a sentence is a hit at (K, m) when its paragraph's ground-truth video ranks
<= K and its top-1 moment there has IoU >= m), `vcmr` (one corpus-wide ranked list of (video, moment) pairs per
sentence, JSG), `retrieval` (paragraph -> video R@K, MedR, MeanR) and `grounding` (in the ground-truth video: R@{1,5}
at IoU {0.3, 0.5, 0.7}, mIoU, paragraph-level recall, order consistency). Ties in similarity are pessimistic.
"""

_CITATION = """\
@article{wang2025dmrjrg,
  title = {Dual-task Mutual Reinforcing Embedded Joint Video Paragraph Retrieval and Grounding},
  author = {Wang, Mengzhao and Li, Huafeng and Zhang, Yafei and Li, Jinxing and Xie, Minghong and Tao, Dapeng}
}
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (list of dict): one per paragraph, with
        video_scores (list of float, (num_videos,)): paragraph->video similarity over the whole corpus;
        moments (list, (M, n, 2)): per sentence, predicted moments in the ground-truth video, seconds, best first;
        corpus_videos, corpus_moments, corpus_scores ((M, L), (M, L, 2), (M, L)), only with config_name "vcmr"
            (`evaluate.load(path, "vcmr")`): per sentence the corpus-wide list of (video column, moment, score) of
            protocol `vcmr` (see `dmr_jrg_hf.metrics.merge_corpus_candidates`); -1 / NaN pad shorter lists.
    references (list of dict): one per paragraph, with
        video_index (int): column of the ground-truth video in video_scores;
        timestamps (list, (M, 2)): ground-truth moments, seconds.
    protocols (list of str, optional): subset of ["vprg", "vcmr", "retrieval", "grounding"]; default: all of them
        with config "vcmr", all but "vcmr" otherwise.
    vprg_top_n (int, default 1): `vprg` counts any of the top-n moments (1: the paper's top-1 criterion).
    thresholds (list of float, default [0.3, 0.5, 0.7]): IoU thresholds.
Returns:
    dict: {protocol: {metric: value}}, values in percent (MedR / MeanR are ranks), keys such as "R@1,IoU=0.5".
Examples:
    >>> import dmr_jrg_hf.metrics
    >>> metric = dmr_jrg_hf.metrics.load_metric()
    >>> prediction = {"video_scores": [0.9, 0.1], "moments": [[[0.0, 5.0]]]}
    >>> reference = {"video_index": 0, "timestamps": [[0.0, 5.0]]}
    >>> metric.compute(predictions=[prediction], references=[reference])["retrieval"]["R@1"]
    100.0
"""

_FLOATS = datasets.Value("float64")
_REFERENCES = {"video_index": datasets.Value("int64"), "timestamps": datasets.List(datasets.List(_FLOATS))}
_PREDICTIONS = {
    "video_scores": datasets.List(_FLOATS),
    "moments": datasets.List(datasets.List(datasets.List(_FLOATS))),
}
_CORPUS_PREDICTIONS = {
    "corpus_videos": datasets.List(datasets.List(datasets.Value("int64"))),
    "corpus_moments": datasets.List(datasets.List(datasets.List(_FLOATS))),
    "corpus_scores": datasets.List(datasets.List(_FLOATS)),
}
FEATURES_BY_CONFIG = {
    "default": datasets.Features({"predictions": _PREDICTIONS, "references": _REFERENCES}),
    "vcmr": datasets.Features({"predictions": {**_PREDICTIONS, **_CORPUS_PREDICTIONS}, "references": _REFERENCES}),
}


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class DMRJRG(evaluate.Metric):
    """VPRG metrics (vprg, vcmr, retrieval, grounding) computed by ``dmr_jrg_hf.metrics``."""

    def _info(self) -> evaluate.MetricInfo:
        if self.config_name not in FEATURES_BY_CONFIG:
            raise ValueError(
                f"dmr_jrg: unknown config_name {self.config_name!r}; valid: {list(FEATURES_BY_CONFIG)}"
                " ('vcmr' adds the corpus-wide lists to the predictions)"
            )
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=FEATURES_BY_CONFIG[self.config_name],
        )

    def _compute(
        self,
        predictions,
        references,
        protocols=None,
        vprg_top_n: int = 1,
        thresholds=IOU_THRESHOLDS,
    ) -> dict[str, dict[str, float]]:
        inputs = EvaluationInputs.from_records(predictions, references)
        return inputs.evaluate(protocols=protocols, vprg_top_n=vprg_top_n, thresholds=thresholds)
