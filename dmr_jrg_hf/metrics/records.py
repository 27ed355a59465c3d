"""Evaluation inputs as one container, built from arrays or from per-paragraph records (the ``evaluate`` format).

One record pair per paragraph (the example format of the ``dmr_jrg`` ``evaluate`` module):

- prediction: ``video_scores`` (num_videos,) paragraph->video similarity over the whole corpus; ``moments`` (M, n, 2)
  predicted moments of each of the M sentences in the ground-truth video, seconds, best first (n may differ per
  sentence); optionally the ``vcmr`` lists ``corpus_videos`` (M, L) video columns, ``corpus_moments`` (M, L, 2)
  seconds and ``corpus_scores`` (M, L), given for every paragraph or for none.
- reference: ``video_index`` (int) column of the ground-truth video; ``timestamps`` (M, 2) ground-truth seconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .grounding import IOU_THRESHOLDS
from .report import evaluate_all
from .vcmr import CorpusCandidates

__all__ = ["EvaluationInputs"]

_CORPUS_KEYS = ("corpus_videos", "corpus_moments", "corpus_scores")


def _pad_rows(rows: Sequence[np.ndarray], fill: float, trailing_shape: tuple[int, ...]) -> np.ndarray:
    """Stack arrays (n_i, *trailing_shape) into (len(rows), max n_i, *trailing_shape), padded with ``fill``."""
    length = max((len(row) for row in rows), default=0)
    padded = np.full((len(rows), length, *trailing_shape), fill, dtype=np.float64)
    for index, row in enumerate(rows):
        padded[index, : len(row)] = row
    return padded


def _sentence_rows(records: Sequence[Mapping], key: str, counts: Sequence[int], trailing: tuple[int, ...]):
    """Per-sentence arrays of field ``key`` over all paragraphs, checking one entry per sentence."""
    rows = []
    for paragraph, (record, count) in enumerate(zip(records, counts, strict=True)):
        value = record[key]
        if len(value) != count:
            raise InputError(f"paragraph {paragraph}: {key} has {len(value)} sentences, timestamps has {count}")
        for sentence, row in enumerate(value):
            array = np.asarray(row, dtype=np.float64).reshape(-1, *trailing)
            if array.shape[0] == 0:
                raise InputError(f"paragraph {paragraph}, sentence {sentence}: {key} is empty")
            rows.append(array)
    return rows


def _corpus_candidates(predictions: Sequence[Mapping], counts: Sequence[int]) -> CorpusCandidates | None:
    """The ``vcmr`` lists of the records, or ``None`` when no record has them."""
    given = [all(p.get(key) is not None for key in _CORPUS_KEYS) for p in predictions]
    if not any(given):
        return None
    if not all(given):
        paragraph = given.index(False)
        raise InputError(f"paragraph {paragraph}: {list(_CORPUS_KEYS)} must be given for every paragraph or none")
    videos = _pad_rows(_sentence_rows(predictions, "corpus_videos", counts, ()), -1.0, ())
    return CorpusCandidates(
        videos=videos.astype(np.int64),
        moments=_pad_rows(_sentence_rows(predictions, "corpus_moments", counts, (2,)), np.nan, (2,)),
        scores=_pad_rows(_sentence_rows(predictions, "corpus_scores", counts, ()), -np.inf, ()),
    )


@dataclass(frozen=True)
class EvaluationInputs:
    """Everything the protocols read, as arrays (shapes as in :func:`~dmr_jrg_hf.metrics.evaluate_all`).

    Attributes:
        similarity (np.ndarray of shape (num_paragraphs, num_videos)): paragraph->video scores.
        gt_video (np.ndarray of int64, shape (num_paragraphs,)): ground-truth video column per paragraph.
        sentence_paragraph (np.ndarray of int64, shape (num_sentences,)): paragraph of each sentence.
        gt_moments (np.ndarray of shape (num_sentences, 2)): ground-truth moments, seconds.
        pred_moments (np.ndarray of shape (num_sentences, n, 2)): moments in the GT video, best first, NaN padding.
        corpus_candidates (CorpusCandidates, optional): corpus-wide lists for ``vcmr``.
    """

    similarity: np.ndarray
    gt_video: np.ndarray
    sentence_paragraph: np.ndarray
    gt_moments: np.ndarray
    pred_moments: np.ndarray
    corpus_candidates: CorpusCandidates | None = None

    @classmethod
    def from_records(cls, predictions: Sequence[Mapping], references: Sequence[Mapping]) -> EvaluationInputs:
        """Build the arrays from one prediction and one reference record per paragraph (see the module docstring).

        Raises:
            InputError: no records, mismatched counts, or a record that disagrees with the others (named).
        """
        if len(predictions) == 0 or len(predictions) != len(references):
            raise InputError(
                f"expected one prediction per reference and at least one, got {len(predictions)} predictions and"
                f" {len(references)} references"
            )
        lengths = [len(p["video_scores"]) for p in predictions]
        if len(set(lengths)) != 1:
            paragraph = next(i for i, n in enumerate(lengths) if n != lengths[0])
            raise InputError(
                f"paragraph {paragraph}: video_scores has {lengths[paragraph]} videos, paragraph 0 has {lengths[0]}"
            )
        counts = [len(r["timestamps"]) for r in references]
        if 0 in counts:
            raise InputError(f"paragraph {counts.index(0)}: no sentences (empty timestamps)")
        return cls(
            similarity=np.asarray([p["video_scores"] for p in predictions], dtype=np.float64),
            gt_video=np.asarray([r["video_index"] for r in references], dtype=np.int64),
            sentence_paragraph=np.repeat(np.arange(len(counts), dtype=np.int64), counts),
            gt_moments=np.concatenate(
                [np.asarray(r["timestamps"], dtype=np.float64).reshape(-1, 2) for r in references]
            ),
            pred_moments=_pad_rows(_sentence_rows(predictions, "moments", counts, (2,)), np.nan, (2,)),
            corpus_candidates=_corpus_candidates(predictions, counts),
        )

    def evaluate(
        self,
        protocols: Sequence[str] | None = None,
        vprg_top_n: int = 1,
        thresholds: Sequence[float] = IOU_THRESHOLDS,
    ) -> dict[str, dict[str, float]]:
        """Run :func:`~dmr_jrg_hf.metrics.evaluate_all` on these inputs."""
        return evaluate_all(
            self.similarity,
            self.gt_video,
            self.sentence_paragraph,
            self.gt_moments,
            self.pred_moments,
            corpus_candidates=self.corpus_candidates,
            protocols=protocols,
            vprg_top_n=vprg_top_n,
            thresholds=thresholds,
        )
