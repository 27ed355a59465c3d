"""Chunk-and-merge grounding of long videos: windows, offsets, merging, and the moment whole-video pooling misses."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dmr_jrg_hf import DMRJRGConfig
from dmr_jrg_hf.errors import InputError
from dmr_jrg_hf.feature_extraction_dmr_jrg import extract_clip_features, window_starts
from dmr_jrg_hf.geometry import cells_to_seconds, segment_iou
from dmr_jrg_hf.inference import encode_paragraphs, ground
from dmr_jrg_hf.inference.long_videos import (
    VideoWindows,
    is_long_video,
    merge_window_moments,
    video_windows,
    window_weights,
)
from dmr_jrg_hf.model_builder import build_model_and_processor
from dmr_jrg_hf.processing_dmr_jrg import DMRJRGProcessor

SENTENCE = "the person opens the door"
TRUE_MOMENT = (540.0, 555.0)  # 15 s in the last minute of a 10-minute video


def _processor_with(processor: DMRJRGProcessor, **settings) -> DMRJRGProcessor:
    """A copy of ``processor`` with other chunked-grounding settings (validated as at construction)."""
    return processor.with_settings(**settings)


@pytest.fixture(scope="module")
def handcrafted():
    """A tiny DMR-JRG model (TAN off) whose weights make grounding a known rule, and its processor.

    Frames are unit vectors: ``e0`` inside the event, ``e1`` elsewhere, so after pooling clip ``c`` has ``x0 = s_c``,
    the share of the clip covered by the event. The clip projection gives channels ``(s_c, 1 - s_c, 1)``, the 2D map
    takes their maximum over a cell's clips, the sentence gate is constant and the score head reads ``ch0 - ch1`` of
    the L2-normalised cell: a cell wholly inside the event scores ``sigmoid(1/sqrt(2))``, a cell with outside clips
    less. Trained on videos of 120 s, so the processor grounds longer videos in 120 s windows overlapping by half. Its
    retrieval encoders are random, so the windows are merged unweighted (``long_video_relevance_temperature=None``).
    """
    config = DMRJRGConfig.from_preset("tiny", use_temporal_adjacent_network=False)
    model, processor = build_model_and_processor(config, [{"sentences": [SENTENCE], "duration": 120.0}])
    processor = _processor_with(processor, long_video_relevance_temperature=None)
    hidden = config.hidden_size
    with torch.no_grad():
        projection = model.temporal_map.clip_projection
        projection.weight.zero_()
        projection.bias.zero_()
        projection.weight[0, 0], projection.weight[1, 0], projection.bias[1], projection.bias[2] = 1.0, -1.0, 1.0, 1.0
        fusion = model.local_branch.fusion
        fusion.sentence_projection.weight.zero_()
        fusion.sentence_projection.bias.fill_(1.0)
        fusion.moment_projection.weight.copy_(torch.eye(hidden)[:, :, None, None])
        fusion.moment_projection.bias.zero_()
        head = model.local_branch.score_head.projection
        head.weight.zero_()
        head.bias.zero_()
        head.weight[0, 0], head.weight[0, 1] = 1.0, -1.0
    return model.eval(), processor


def _event_video(num_frames: int, event: tuple[int, int], feature_dim: int = 12) -> np.ndarray:
    """Frames ``e1`` everywhere and ``e0`` in frames ``[event[0], event[1])``."""
    frames = np.zeros((num_frames, feature_dim), np.float32)
    frames[:, 1] = 1.0
    frames[event[0] : event[1]] = np.eye(feature_dim, dtype=np.float32)[0]
    return frames


def test_handcrafted_settings_come_from_the_training_durations(handcrafted):
    _, processor = handcrafted
    assert processor.long_video_window_seconds == 120.0 and processor.long_video_threshold_seconds == 120.0
    assert processor.long_video_overlap == 0.5
    assert not is_long_video(processor, 120.0) and is_long_video(processor, 120.5)


def test_chunked_grounding_finds_the_moment_whole_video_pooling_cannot(handcrafted):
    model, processor = handcrafted
    video = _event_video(600, (540, 555))  # 1 feature per second
    chunked = ground(model, processor, [SENTENCE], video, 600.0, moments_per_sentence=3)[0].moments
    whole = ground(model, _processor_with(processor, long_video_window_seconds=None), [SENTENCE], video, 600.0)
    truth = np.array(TRUE_MOMENT)
    assert segment_iou(np.array([chunked[0].start, chunked[0].end]), truth) >= 0.5, f"chunked top-1 {chunked[0]}"
    assert (chunked[0].start, chunked[0].end) == pytest.approx(TRUE_MOMENT), "windows of 15 s cells: exact"
    assert [m.rank for m in chunked] == [1, 2, 3] and chunked[0].score > chunked[1].score
    top = whole[0].moments[0]
    assert segment_iou(np.array([top.start, top.end]), truth) < 0.5, f"whole-video top-1 {top}"
    rows, cols = np.nonzero(processor.map_mask)
    best_possible = segment_iou(cells_to_seconds(rows, cols, 600.0, processor.num_clips), truth).max()
    assert best_possible < 0.5, "no cell of the whole-video grid (75 s clips) reaches IoU 0.5: pooling cannot"


def test_window_offsets_map_back_to_the_right_seconds(handcrafted):
    _, processor = handcrafted  # K = 8: a cell of a 120 s window is 15 s
    windows = VideoWindows(np.zeros((2, 8, 12), np.float32), np.array([0.0, 60.0]), np.full(2, 120.0), 180.0, True)
    score_maps = torch.zeros(2, 1, 8, 8)
    score_maps[1, 0, 2, 3] = 0.9  # window 1 (starts at 60 s), clips 2-3: [60 + 30, 60 + 60]
    score_maps[0, 0, 0, 7] = 0.4  # window 0, the whole window: [0, 120]
    moments = merge_window_moments(processor, score_maps, windows, torch.tensor([True]), top_k=2)[0]
    assert [(m.start, m.end, m.rank) for m in moments] == [(90.0, 120.0, 1), (0.0, 120.0, 2)]
    assert moments[0].score == pytest.approx(0.9) and moments[1].score == pytest.approx(0.4)


def test_window_weights_rescale_the_candidates_of_each_window(handcrafted):
    _, processor = handcrafted
    windows = VideoWindows(np.zeros((2, 8, 12), np.float32), np.array([0.0, 60.0]), np.full(2, 120.0), 180.0, True)
    score_maps = torch.zeros(2, 1, 8, 8)
    score_maps[0, 0, 0, 1] = 0.6  # [0, 30] in the window that matches the paragraph
    score_maps[1, 0, 0, 1] = 0.9  # [60, 90] in a window that matches it less
    mask = torch.tensor([True])
    unweighted = merge_window_moments(processor, score_maps, windows, mask, top_k=1)[0][0]
    assert (unweighted.start, unweighted.score) == (60.0, pytest.approx(0.9))
    weights = window_weights(np.array([1.0, 0.0]), np.array([[1.0, 0.0], [0.6, 0.8]]), temperature=0.4)
    assert weights.tolist() == pytest.approx([1.0, np.exp(-1.0)]), "exp((cos - best cos) / T)"
    weighted = merge_window_moments(processor, score_maps, windows, mask, top_k=2, window_weights=weights)[0]
    assert [(m.start, m.end) for m in weighted] == [(0.0, 30.0), (60.0, 90.0)]
    assert [m.score for m in weighted] == pytest.approx([0.6, 0.9 * np.exp(-1.0)]), "moments carry weighted scores"


def test_merging_removes_duplicates_across_windows(handcrafted):
    _, processor = handcrafted
    windows = VideoWindows(np.zeros((2, 8, 12), np.float32), np.array([0.0, 60.0]), np.full(2, 120.0), 180.0, True)
    score_maps = torch.zeros(2, 1, 8, 8)
    score_maps[0, 0, 4, 5] = 0.9  # [60, 90] seen by window 0 ...
    score_maps[1, 0, 0, 1] = 0.8  # ... and again by window 1
    score_maps[0, 0, 0, 0] = 0.5  # [0, 15]
    merged = merge_window_moments(processor, score_maps, windows, torch.tensor([True]), top_k=2, nms_threshold=0.5)
    assert [(m.start, m.end) for m in merged[0]] == [(60.0, 90.0), (0.0, 15.0)], "the duplicate is suppressed"
    unmerged = merge_window_moments(processor, score_maps, windows, torch.tensor([True]), top_k=2, nms_threshold=1.0)
    assert [(m.start, m.end) for m in unmerged[0]] == [(60.0, 90.0), (60.0, 90.0)], "without NMS it comes back"


def test_windows_overlap_as_configured_and_pool_like_short_videos(handcrafted):
    _, processor = handcrafted
    processor = _processor_with(processor, long_video_overlap=0.25)  # windows of 120 s every 90 s
    rng = np.random.default_rng(0)
    features = rng.random((1200, 12), dtype=np.float32)  # 2 features per second over 600 s
    windows = video_windows(processor, features, 600.0, "v")
    assert windows.is_chunked and windows.offsets.tolist() == [0.0, 90.0, 180.0, 270.0, 360.0, 450.0, 480.0]
    assert windows.durations.tolist() == [120.0] * 7
    overlaps = windows.offsets[:-1] + windows.durations[:-1] - windows.offsets[1:]
    assert overlaps[:-1].tolist() == [30.0] * 5, "consecutive windows overlap by a quarter of a window"
    assert overlaps[-1] >= 30.0 and windows.offsets[-1] + windows.durations[-1] == 600.0, "the last ends the video"
    for i, (offset, duration) in enumerate(zip(windows.offsets, windows.durations, strict=True)):
        frames = features[int(offset * 2) : int((offset + duration) * 2)]
        expected = extract_clip_features(frames, processor.num_sampled_frames, processor.num_clips)
        np.testing.assert_array_equal(windows.clip_features[i], expected, err_msg=f"window {i} pooled as a video")


def test_window_starts_by_hand():
    starts, length = window_starts(600, 600.0, 120.0, 0.5)
    assert (starts.tolist(), length) == ([0, 60, 120, 180, 240, 300, 360, 420, 480], 120)
    starts, length = window_starts(610, 305.0, 100.0, 0.25)  # 2 frames/s: 200-frame windows every 150 frames
    assert (starts.tolist(), length) == ([0, 150, 300, 410], 200), "a last window ends on the last frame"
    assert window_starts(50, 50.0, 120.0, 0.5)[0].tolist() == [0], "no longer than a window: the whole video"
    assert window_starts(50, 50.0, 120.0, 0.5)[1] == 50
    starts, length = window_starts(10, 10.0, 2.0, 0.0)
    assert (starts.tolist(), length) == ([0, 2, 4, 6, 8], 2), "overlap 0: windows tile the video"


def test_short_videos_are_unchanged(model_and_processor, corpus):
    """A video up to the threshold takes today's path: processor -> model.ground -> post_process_grounding, bitwise."""
    model, processor = model_and_processor
    assert processor.long_video_window_seconds is not None, "the corpus processor grounds long videos in windows"
    rows = [row for row in corpus.paragraphs["test"] if not is_long_video(processor, row["duration"])][:4]
    assert len(rows) == 4
    paragraphs = [row["sentences"] for row in rows]
    features = [corpus.features[row["video_id"]] for row in rows]
    durations = [row["duration"] for row in rows]
    found = ground(model, processor, paragraphs, features, durations, moments_per_sentence=3, batch_size=4)
    inputs = processor(text=paragraphs, video_features=features, durations=durations)
    with torch.no_grad():
        score_maps = model.ground(
            inputs["word_ids"],
            inputs["word_mask"],
            inputs["sentence_mask"],
            inputs["clip_features"],
            torch.as_tensor(processor.map_mask),
        )
    expected = processor.post_process_grounding(score_maps, inputs["durations"], inputs["sentence_mask"], top_k=3)
    assert [[g.moments for g in paragraph] for paragraph in found] == [
        [tuple(moments) for moments in paragraph] for paragraph in expected
    ], "moments of short videos are bitwise those of the whole-video path"


def test_chunked_grounding_equals_grounding_each_window_as_a_short_video(model_and_processor, corpus):
    """The windows of a long video go through the model as one batch; the top moment is the best of the windows
    grounded one by one as short videos, weighted by the windows' retrieval match and shifted by their offsets."""
    model, processor = model_and_processor
    assert processor.long_video_relevance_temperature == 0.1
    row = corpus.paragraphs["test"][0]
    rng = np.random.default_rng(1)
    features = np.concatenate([rng.random((250, 12), dtype=np.float32), corpus.features[row["video_id"]]])
    duration = float(len(features))  # 1 feature per second
    assert is_long_video(processor, duration)
    chunked = ground(model, processor, row["sentences"], features, duration)
    starts, length = window_starts(
        len(features), duration, processor.long_video_window_seconds, processor.long_video_overlap
    )
    short = _processor_with(processor, long_video_window_seconds=None)
    slices = [features[s : s + length] for s in starts]
    per_window = ground(model, short, [row["sentences"]] * len(starts), slices, [length] * len(starts))
    clips = short(video_features=slices, durations=[length] * len(starts))["clip_features"]
    with torch.no_grad():
        weights = window_weights(
            encode_paragraphs(model, short, row["sentences"])[0].numpy(),
            model.encode_videos(clips).numpy(),
            processor.long_video_relevance_temperature,
        )
    unweighted = [
        max(range(len(starts)), key=lambda w: per_window[w][m].moments[0].score) for m in range(len(chunked))
    ]
    winners = [
        max(range(len(starts)), key=lambda w: per_window[w][m].moments[0].score * weights[w])
        for m in range(len(chunked))
    ]
    assert winners != unweighted, "the weights change a sentence's window here: the test checks the weighting"
    for m, (sentence, best) in enumerate(zip(chunked, winners, strict=True)):
        expected = per_window[best][m].moments[0]
        found = sentence.moments[0]
        assert (found.start, found.end) == pytest.approx((starts[best] + expected.start, starts[best] + expected.end))
        assert found.score == pytest.approx(expected.score * weights[best], abs=1e-6), f"sentence {m}: window {best}"


def test_chunking_off_grounds_every_video_whole(handcrafted):
    model, processor = handcrafted
    off = _processor_with(processor, long_video_window_seconds=None)
    assert not is_long_video(off, 10_000.0)
    windows = video_windows(off, _event_video(600, (540, 555)), 600.0, "v")
    assert not windows.is_chunked and len(windows) == 1 and windows.duration == 600.0


def test_bad_features_of_a_long_video_name_the_video_and_frame(handcrafted):
    model, processor = handcrafted
    features = _event_video(600, (540, 555))
    features[300, 2] = np.nan
    with pytest.raises(InputError, match=r"video '#0': features contain NaN or Inf \(first at frame 300\)"):
        ground(model, processor, [SENTENCE], features, 600.0)
