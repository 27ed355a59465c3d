"""Evaluation of a DMR-JRG model on paragraph rows: runs only what each protocol needs, batched (DESIGN §5).

- ``retrieval``: paragraph and video embeddings once each, one similarity matrix.
- ``grounding`` and ``vprg``: one inference forward of every paragraph with its ground-truth video, which gives its
  score maps and both retrieval embeddings at once (every video of the set is some paragraph's ground truth), so these
  protocols cost one plain forward over the test set plus post-processing (top-1 moments: an argmax, no NMS).
- ``vcmr``: every paragraph grounded in its top-N retrieved videos, moments merged into one corpus-wide list.

With an `accelerate.Accelerator`, videos, paragraphs and pairs are split between processes and the results gathered,
so every process returns the same numbers as one process would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ..geometry import cells_to_seconds
from ..metrics import PROTOCOLS, evaluate_all, merge_corpus_candidates, top_videos, video_indices

__all__ = ["EvaluationSet", "evaluate_model", "evaluate_baselines", "DEFAULT_PROTOCOLS"]

DEFAULT_PROTOCOLS = PROTOCOLS


@dataclass(frozen=True)
class EvaluationSet:
    """Ground truth of rows in the index form the metrics take.

    Attributes:
        video_ids (list[str]): unique videos in order of first appearance (a video may carry several paragraphs).
        durations (np.ndarray of shape (num_videos,)).
        gt_video (np.ndarray of int, shape (num_paragraphs,)): column of each paragraph's video.
        sentence_paragraph (np.ndarray of int, shape (num_sentences,)): paragraph of every sentence, in row order.
        gt_moments (np.ndarray of shape (num_sentences, 2)): ground-truth moments, seconds.
    """

    video_ids: list[str]
    durations: np.ndarray
    gt_video: np.ndarray
    sentence_paragraph: np.ndarray
    gt_moments: np.ndarray

    @classmethod
    def from_rows(cls, rows: Sequence[Mapping[str, Any]]) -> EvaluationSet:
        paragraph_videos = [row["video_id"] for row in rows]
        video_ids = list(dict.fromkeys(paragraph_videos))
        durations = {row["video_id"]: float(row["duration"]) for row in rows}
        lengths = [len(row["sentences"]) for row in rows]
        return cls(
            video_ids=video_ids,
            durations=np.asarray([durations[video_id] for video_id in video_ids]),
            gt_video=video_indices(paragraph_videos, video_ids),
            sentence_paragraph=np.repeat(np.arange(len(rows)), lengths),
            gt_moments=np.asarray([moment for row in rows for moment in row["timestamps"]], dtype=np.float64),
        )


def _distributed_map(
    function: Callable[[list], list], items: list, batch_size: int, accelerator, description: str, show: bool
) -> list:
    """Apply ``function`` to batches of ``items``, split between processes; results in the order of ``items``."""
    if accelerator is None or accelerator.num_processes == 1:
        shard, gather = items, None
    else:
        from accelerate.utils import gather_object

        per_process = -(-len(items) // accelerator.num_processes)
        start = accelerator.process_index * per_process
        shard, gather = items[start : start + per_process], gather_object
    results: list = []
    disable = not show or (accelerator is not None and not accelerator.is_local_main_process)
    for start in tqdm(range(0, len(shard), batch_size), desc=description, unit="batch", disable=disable, leave=False):
        results.extend(function(shard[start : start + batch_size]))
    return results if gather is None else gather(results)


class _ModelRunner:
    """Batches of rows or video ids -> model inputs on the model's device -> numpy outputs."""

    def __init__(self, model, processor, rows, features, evaluation_set: EvaluationSet):
        self.model = model
        self.processor = processor
        self.rows = rows
        self.features = features
        self.set = evaluation_set
        self.device = next(model.parameters()).device
        self.map_mask = torch.as_tensor(processor.map_mask, device=self.device)

    def _text(self, paragraphs: list[int], with_masking: bool = False) -> dict[str, torch.Tensor]:
        batch = self.processor(text=[list(self.rows[p]["sentences"]) for p in paragraphs])
        keys = ("word_ids", "word_mask", "sentence_mask")
        keys += ("masked_word_ids", "masked_positions") if with_masking else ()
        return {key: batch[key].to(self.device) for key in keys}

    def _clips(self, videos: Sequence[int]) -> torch.Tensor:
        video_ids = [self.set.video_ids[v] for v in videos]
        batch = self.processor(
            video_features=[self.features[video_id] for video_id in video_ids],
            durations=self.set.durations[list(videos)].tolist(),
            video_ids=video_ids,
        )
        return batch["clip_features"].to(self.device)

    def video_embeddings(self, videos: list[int]) -> list[np.ndarray]:
        return list(self.model.encode_videos(self._clips(videos)).float().cpu().numpy())

    def paragraph_embeddings(self, paragraphs: list[int]) -> list[np.ndarray]:
        return list(self.model.encode_paragraphs(**self._text(paragraphs)).float().cpu().numpy())

    def grounding_scores(self, paragraphs: list[int]) -> list[np.ndarray]:
        """Base row (no retrieval branch): grounding-based similarity of these paragraphs to every video."""
        text = self._text(paragraphs)
        columns = [
            self.model.grounding_similarity(**text, clip_features=self._clips(chunk), map_mask=self.map_mask)
            for chunk in np.array_split(np.arange(len(self.set.video_ids)), max(1, len(self.set.video_ids) // 64))
        ]
        return list(torch.cat(columns, dim=1).float().cpu().numpy())

    def moments(self, pairs: list[tuple[int, int]], top_k: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Ground paragraph ``p`` in video ``v`` for each pair: per pair (moments (M_p, k, 2), scores (M_p, k))."""
        text = self._text([p for p, _ in pairs])
        videos = [v for _, v in pairs]
        maps = self.model.ground(**text, clip_features=self._clips(videos), map_mask=self.map_mask)
        return self._top_moments(maps, videos, text["sentence_mask"], top_k)

    def ground_truth_pass(self, paragraphs: list[int], top_k: int) -> list[tuple]:
        """One inference forward of each paragraph with its ground-truth video.

        Returns:
            per paragraph: moments (M_p, k, 2), scores (M_p, k), paragraph embedding and video embedding (hidden,)
            (both None without the retrieval branch).
        """
        text = self._text(paragraphs, with_masking=True)
        videos = [int(self.set.gt_video[p]) for p in paragraphs]
        output = self.model(**text, clip_features=self._clips(videos), map_mask=self.map_mask, return_loss=False)
        grounded = self._top_moments(output.score_maps, videos, text["sentence_mask"], top_k)
        if output.paragraph_embeddings is None:
            return [(*pair, None, None) for pair in grounded]
        paragraph_embeddings = output.paragraph_embeddings.float().cpu().numpy()
        video_embeddings = output.video_embeddings.float().cpu().numpy()
        return [(*pair, p, v) for pair, p, v in zip(grounded, paragraph_embeddings, video_embeddings, strict=True)]

    def _top_moments(self, maps, videos: list[int], sentence_mask, top_k: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Score maps -> per paragraph (moments (M_p, k, 2) in seconds, scores (M_p, k)), NaN-padded past the kept."""
        durations = self.set.durations[videos]
        if top_k == 1:
            return _top_cell_moments(maps, durations, sentence_mask, self.processor.map_mask)
        grounded = self.processor.post_process_grounding(maps, durations, sentence_mask.cpu(), top_k=top_k)
        output = []
        for paragraph in grounded:
            moments = np.full((len(paragraph), top_k, 2), np.nan)
            scores = np.full((len(paragraph), top_k), np.nan)
            for m, sentence in enumerate(paragraph):
                moments[m, : len(sentence)] = [[moment.start, moment.end] for moment in sentence]
                scores[m, : len(sentence)] = [moment.score for moment in sentence]
            output.append((moments, scores))
        return output


def _top_cell_moments(maps, durations: np.ndarray, sentence_mask, map_mask) -> list[tuple[np.ndarray, np.ndarray]]:
    """Top-1 moment of every real sentence, vectorised: the best valid cell (the first in row-major order on ties,
    as NMS's stable sort), in seconds. Equals ``processor.post_process_grounding(..., top_k=1)``."""
    map_mask = np.asarray(map_mask, dtype=bool)
    rows, cols = np.nonzero(map_mask)
    scores = maps.float().flatten(-2)[..., torch.as_tensor(rows * map_mask.shape[1] + cols)].cpu().numpy()
    best = scores.argmax(-1)  # (batch, M): index among the valid cells
    best_scores = np.take_along_axis(scores, best[..., None], -1)  # (batch, M, 1)
    seconds = cells_to_seconds(rows[best], cols[best], np.asarray(durations)[:, None], map_mask.shape[0])
    real = sentence_mask.cpu().numpy()
    return [(seconds[b, real[b], None], best_scores[b, real[b]]) for b in range(len(real))]


def _similarity(runner: _ModelRunner, num_paragraphs: int, batch_size: int, accelerator, show: bool) -> np.ndarray:
    paragraphs = list(range(num_paragraphs))
    if not runner.model.config.use_retrieval_branch:
        rows = _distributed_map(runner.grounding_scores, paragraphs, batch_size, accelerator, "grounding scores", show)
        return np.stack(rows)
    videos = _distributed_map(
        runner.video_embeddings, list(range(len(runner.set.video_ids))), batch_size, accelerator, "videos", show
    )
    texts = _distributed_map(runner.paragraph_embeddings, paragraphs, batch_size, accelerator, "paragraphs", show)
    return np.stack(texts) @ np.stack(videos).T  # (num_paragraphs, num_videos)


@torch.no_grad()
def evaluate_model(
    model,
    processor,
    rows: Sequence[Mapping[str, Any]],
    features: Mapping[str, np.ndarray],
    protocols: Sequence[str] = DEFAULT_PROTOCOLS,
    batch_size: int = 64,
    top_n: int = 5,
    vprg_top_n: int = 1,
    vcmr_num_videos: int = 10,
    accelerator=None,
    show_progress: bool = True,
) -> dict[str, dict[str, float]]:
    """Evaluate ``model`` on paragraph rows with their ground truth.

    Args:
        model (DMRJRGModel): switched to eval mode for the call (and back afterwards).
        processor (DMRJRGProcessor): the model's processor.
        rows (Sequence[Mapping]): paragraph rows with ``timestamps``.
        features (Mapping[str, np.ndarray]): video id -> per-frame features.
        protocols (Sequence[str]): any of ``retrieval``, ``grounding``, ``vprg``, ``vcmr``.
        batch_size (int): paragraphs or videos per forward.
        top_n (int): moments kept per sentence after NMS (grounding R@5, vcmr moments per video).
        vprg_top_n (int): within-video criterion of ``vprg`` (1: top-1 moment, the paper's).
        vcmr_num_videos (int): N retrieved videos grounded per paragraph for ``vcmr``.
        accelerator (accelerate.Accelerator, optional): split the work between processes and gather.

    Returns:
        dict[str, dict[str, float]]: ``{protocol: {metric: value}}`` (percent).
    """
    was_training = model.training
    model.eval()
    try:
        truth = EvaluationSet.from_rows(rows)
        runner = _ModelRunner(model, processor, rows, features, truth)
        wanted = set(protocols)
        similarity = pred_moments = corpus = None
        if wanted & {"grounding", "vprg"}:
            top_k = top_n if "grounding" in wanted else min(vprg_top_n, top_n)
            grounded = _distributed_map(
                lambda chunk: runner.ground_truth_pass(chunk, top_k),
                list(range(len(rows))),
                batch_size,
                accelerator,
                "grounding",
                show_progress,
            )
            pred_moments = np.concatenate([moments for moments, *_ in grounded])
            if grounded[0][2] is not None:
                similarity = _similarity_from_ground_truth_pass(grounded, truth)
        if similarity is None and wanted & {"retrieval", "vprg", "vcmr"}:
            similarity = _similarity(runner, len(rows), batch_size, accelerator, show_progress)
        if "vcmr" in protocols:
            corpus = _corpus_candidates(runner, similarity, truth, top_n, vcmr_num_videos, batch_size, accelerator)
        return evaluate_all(
            similarity,
            truth.gt_video,
            truth.sentence_paragraph,
            truth.gt_moments,
            pred_moments,
            corpus_candidates=corpus,
            protocols=protocols,
            vprg_top_n=vprg_top_n,
        )
    finally:
        model.train(was_training)


def _similarity_from_ground_truth_pass(grounded: list[tuple], truth: EvaluationSet) -> np.ndarray:
    """Paragraph x video cosine similarity from the embeddings of the ground-truth pass (each video's embedding is
    taken from its first paragraph; every paragraph gives its video the same one)."""
    paragraphs = np.stack([paragraph for *_, paragraph, _ in grounded])  # (num_paragraphs, hidden)
    first = np.unique(truth.gt_video, return_index=True)[1]  # first paragraph of each video, in video order
    videos = np.stack([grounded[p][3] for p in first])  # (num_videos, hidden)
    return paragraphs @ videos.T


def _corpus_candidates(runner, similarity, truth: EvaluationSet, top_n, num_videos, batch_size, accelerator):
    """Ground each paragraph in its top-N videos and merge the moments into one corpus-wide list per sentence."""
    num_videos = min(num_videos, similarity.shape[1])
    retrieved = top_videos(similarity, num_videos)  # (num_paragraphs, N)
    pairs = [(p, int(v)) for p in range(len(retrieved)) for v in retrieved[p]]
    grounded = _distributed_map(
        lambda chunk: runner.moments(chunk, top_n), pairs, batch_size, accelerator, "corpus grounding", False
    )
    lengths = np.bincount(truth.sentence_paragraph, minlength=len(retrieved))
    moments = np.full((len(truth.sentence_paragraph), num_videos, top_n, 2), np.nan)
    scores = np.full((len(truth.sentence_paragraph), num_videos, top_n), np.nan)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    for index, (paragraph_moments, paragraph_scores) in enumerate(grounded):
        paragraph, slot = divmod(index, num_videos)
        sentences = slice(offsets[paragraph], offsets[paragraph + 1])
        moments[sentences, slot] = paragraph_moments
        scores[sentences, slot] = paragraph_scores
    candidate_videos = retrieved[truth.sentence_paragraph]  # (num_sentences, N)
    return merge_corpus_candidates(similarity, truth.sentence_paragraph, candidate_videos, moments, scores)


def evaluate_baselines(
    rows: Sequence[Mapping[str, Any]],
    features: Mapping[str, np.ndarray],
    num_clips: int,
    seed: int = 0,
) -> dict[str, dict[str, dict[str, float]]]:
    """Timestamp-free baselines that never read a sentence: random retrieval, fixed windows, query-free saliency.

    Returns:
        ``{baseline: {protocol: {metric: value}}}``; retrieval baselines report ``retrieval``, grounding baselines
        report ``grounding`` (the protocol each one addresses).
    """
    from ..metrics.baselines import (
        FIXED_WINDOWS,
        fixed_window_moments,
        query_free_saliency_moments,
        random_retrieval_scores,
    )

    truth = EvaluationSet.from_rows(rows)
    sentence_videos = truth.gt_video[truth.sentence_paragraph]
    durations = truth.durations[sentence_videos]
    results = {
        "random_retrieval": evaluate_all(
            random_retrieval_scores(len(rows), len(truth.video_ids), seed), truth.gt_video, protocols=["retrieval"]
        )
    }
    saliency = query_free_saliency_moments([features[v] for v in truth.video_ids], truth.durations, num_clips)
    windows = {f"window_{name}": fixed_window_moments(durations, name) for name in FIXED_WINDOWS}
    windows["query_free_saliency"] = saliency[sentence_videos]
    for name, moments in windows.items():
        results[name] = evaluate_all(
            sentence_paragraph=truth.sentence_paragraph,
            gt_moments=truth.gt_moments,
            pred_moments=moments[:, None, :],
            protocols=["grounding"],
        )
    return results
