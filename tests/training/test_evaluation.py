"""The batched evaluation (one ground-truth forward per paragraph, vectorised top-1) against a straightforward
reference: embeddings from the encoders, one `ground` call and `post_process_grounding` per paragraph."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dmr_jrg_hf.metrics import evaluate_all
from dmr_jrg_hf.training import evaluate_model
from dmr_jrg_hf.training.evaluation import EvaluationSet, _top_cell_moments


def _rows_with_a_shared_video(benchmark) -> list[dict]:
    """Test rows plus a second paragraph (the first two sentences) of the first video: a video with two paragraphs."""
    rows = [dict(row) for row in benchmark.paragraphs["test"]]
    extra = dict(rows[0])
    extra["sentences"], extra["timestamps"] = list(rows[0]["sentences"][:2]), list(rows[0]["timestamps"][:2])
    return [*rows, extra]


@torch.no_grad()
def _reference(model, processor, rows, features, protocols, top_n=5, vprg_top_n=1):
    truth = EvaluationSet.from_rows(rows)
    model.eval()
    clips = processor(
        video_features=[features[v] for v in truth.video_ids],
        durations=truth.durations.tolist(),
        video_ids=truth.video_ids,
    )["clip_features"]
    videos = model.encode_videos(clips)
    moments = []
    paragraphs = []
    for p, row in enumerate(rows):
        text = processor(text=[list(row["sentences"])])
        text = {key: text[key] for key in ("word_ids", "word_mask", "sentence_mask")}
        paragraphs.append(model.encode_paragraphs(**text)[0])
        video = int(truth.gt_video[p])
        maps = model.ground(
            **text, clip_features=clips[video : video + 1], map_mask=torch.as_tensor(processor.map_mask)
        )
        top = processor.post_process_grounding(maps, truth.durations[[video]], text["sentence_mask"], top_k=top_n)[0]
        for sentence in top:
            padded = np.full((top_n, 2), np.nan)
            padded[: len(sentence)] = [[moment.start, moment.end] for moment in sentence]
            moments.append(padded)
    similarity = (torch.stack(paragraphs) @ videos.t()).numpy()
    return evaluate_all(
        similarity,
        truth.gt_video,
        truth.sentence_paragraph,
        truth.gt_moments,
        np.stack(moments),
        protocols=protocols,
        vprg_top_n=vprg_top_n,
    )


@pytest.mark.parametrize("protocols", [["vprg"], ["vprg", "grounding", "retrieval"]], ids=str)
def test_batched_evaluation_equals_the_per_paragraph_reference(small_benchmark, build_model, protocols):
    model, processor = build_model()
    rows = _rows_with_a_shared_video(small_benchmark)
    expected = _reference(model, processor, rows, small_benchmark.features, protocols)
    results = evaluate_model(
        model, processor, rows, small_benchmark.features, protocols=protocols, batch_size=3, show_progress=False
    )
    assert results.keys() == expected.keys()
    for protocol, metrics in expected.items():
        for name, value in metrics.items():
            assert results[protocol][name] == pytest.approx(value, abs=1e-9), f"{protocol}/{name}"


def test_top_cell_moments_equal_post_processing_with_top_1(tiny_processor):
    generator = torch.Generator().manual_seed(0)
    num_clips = tiny_processor.num_clips
    maps = torch.rand(3, 4, num_clips, num_clips, generator=generator).round(decimals=1)  # many ties
    maps = maps * torch.as_tensor(tiny_processor.map_mask)
    sentence_mask = torch.tensor([[True] * 4, [True, True, False, False], [True, False, False, False]])
    durations = np.array([10.0, 33.5, 120.0])
    fast = _top_cell_moments(maps, durations, sentence_mask, tiny_processor.map_mask)
    reference = tiny_processor.post_process_grounding(maps, durations, sentence_mask, top_k=1)
    for b, (moments, scores) in enumerate(fast):
        assert moments.shape == (int(sentence_mask[b].sum()), 1, 2)
        for m, sentence in enumerate(reference[b]):
            best = sentence[0]
            assert moments[m, 0].tolist() == pytest.approx([best.start, best.end]), f"paragraph {b}, sentence {m}"
            assert scores[m, 0] == pytest.approx(best.score), f"paragraph {b}, sentence {m}"
