"""The sampling rule (frame nearest to (i + (k + 0.5) / N) / fps, earlier on a tie) against hand-computed times and
frames, and the streaming sampler against the plain argmin reference."""

from __future__ import annotations

import numpy as np
import pytest

from dmr_jrg_hf.errors import InputError
from dmr_jrg_hf.features.sampling import FrameSampler, nearest_frame_indices, num_feature_rows, sample_times


@pytest.mark.parametrize(
    ("duration", "fps", "rows"),
    [
        (10.0, 1.0, 10),  # centres 0.5 .. 9.5
        (10.4, 1.0, 10),  # 10.5 is past the end
        (10.6, 1.0, 11),  # 10.5 is inside
        (0.3, 1.0, 1),  # shorter than one sample interval: still one row
        (1.7142857, 2.0, 3),  # 12 frames at 7 fps: centres 0.25, 0.75, 1.25
        (3.0, 0.5, 1),  # centre 1.0 inside, next centre 3.0 is not before the end
    ],
)
def test_number_of_rows(duration, fps, rows):
    assert num_feature_rows(duration, fps) == rows, f"duration {duration} s at {fps} fps"


def test_sample_times_by_hand():
    np.testing.assert_allclose(sample_times(2.2, 1.0), [[0.5], [1.5]])
    np.testing.assert_allclose(sample_times(1.5, 4.0), [[0.125], [0.375], [0.625], [0.875], [1.125], [1.375]])
    np.testing.assert_allclose(sample_times(0.3, 1.0), [[0.5]], err_msg="a short video still gets its first centre")
    np.testing.assert_allclose(
        sample_times(2.0, 1.0, frames_per_row=4),
        [[0.125, 0.375, 0.625, 0.875], [1.125, 1.375, 1.625, 1.875]],
        err_msg="a clip row spreads its N frames evenly over its 1 / fps seconds",
    )


@pytest.mark.parametrize("fps", [0, -1.0, float("nan"), float("inf"), True, "1"])
def test_bad_rate_is_an_error(fps):
    with pytest.raises(InputError, match="fps must be a positive number"):
        sample_times(10.0, fps)


def _stream(frame_times, fps, frames_per_row, duration):
    sampler = FrameSampler(fps, frames_per_row)
    rows = [row for index, time in enumerate(frame_times) for row in sampler.push(time, index)]
    return rows + sampler.finish(duration)


def test_sampler_picks_hand_computed_frames():
    seven_fps = [k / 7 for k in range(12)]  # duration 12 / 7 s; rows at 0.25, 0.75, 1.25 s = frames 1.75, 5.25, 8.75
    assert _stream(seven_fps, 2.0, 1, 12 / 7) == [[2], [5], [9]]
    ntsc = [k * 1001 / 30000 for k in range(40)]  # 29.97 fps; rows at 1/6, 1/2, 5/6, 7/6 s = frames 4.995, 14.985, ...
    assert _stream(ntsc, 3.0, 1, 40 * 1001 / 30000) == [[5], [15], [25], [35]]


def test_tie_goes_to_the_earlier_frame():
    one_fps = [0.0, 1.0, 2.0, 3.0]  # sample times 0.5, 1.5, 2.5, 3.5 fall exactly between two frames
    assert _stream(one_fps, 1.0, 1, 4.0) == [[0], [1], [2], [3]]
    assert nearest_frame_indices(one_fps, np.array([0.5, 1.5, 2.5, 3.5])).tolist() == [0, 1, 2, 3]


def test_times_past_the_last_frame_take_the_last_frame():
    assert _stream([0.0, 0.1, 0.2], 1.0, 1, 0.3) == [[2]], "0.3 s video at 1 fps: t = 0.5 is past every frame"
    sparse = _stream([0.0, 2.0], 1.0, 1, 4.0)  # 0.5 -> 0.0; 1.5 -> 2.0 (0.5 s away); 2.5 and 3.5 -> 2.0, the last
    assert sparse == [[0], [1], [1], [1]], "a frame serves every sample time it is nearest to"


def test_clip_rows_by_hand():
    eight_fps = [k / 8 for k in range(16)]  # 2 s; times (i + (k + 0.5) / 4) / 1 = frames 1, 3, 5, ... 15
    assert _stream(eight_fps, 1.0, 4, 2.0) == [[1, 3, 5, 7], [9, 11, 13, 15]]
    # 1.2 s: one row (centre 1.5 is past the end); the frames streamed for the second row are dropped
    assert _stream([k / 8 for k in range(10)], 1.0, 4, 1.25) == [[1, 3, 5, 7]]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(("fps", "frames_per_row"), [(1.0, 1), (2.5, 1), (0.5, 1), (1.0, 4), (3.0, 2)])
def test_streaming_equals_the_argmin_reference(seed, fps, frames_per_row):
    rng = np.random.default_rng(seed)
    frame_times = np.cumsum(rng.uniform(0.01, 0.7, size=rng.integers(1, 60)))
    frame_times -= frame_times[0]
    duration = frame_times[-1] + 0.04
    expected = nearest_frame_indices(frame_times, sample_times(duration, fps, frames_per_row))
    assert _stream(frame_times, fps, frames_per_row, duration) == expected.tolist(), f"seed {seed}, {fps} fps"


def test_finish_without_frames_is_an_error():
    with pytest.raises(InputError, match="no frame was pushed"):
        FrameSampler(1.0).finish(1.0)
