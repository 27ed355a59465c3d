"""Plots: rows and panels, boxes read back from the artists, readable labels for any duration, PNG/SVG files."""

from __future__ import annotations

import importlib
import itertools
import re
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.text import Text

from dmr_jrg_hf.errors import InputError
from dmr_jrg_hf.geometry import cells_to_seconds, valid_cell_mask
from dmr_jrg_hf.inference import VideoCorpusIndex, retrieve_and_ground, sentence_score_maps
from dmr_jrg_hf.inference.plots import (
    moments_to_cells,
    plot_retrieval,
    plot_score_maps,
    plot_timeline,
    save_figure,
    save_query_plots,
    sentence_colour,
)
from dmr_jrg_hf.results import Moment, ParagraphResult, RetrievalHit, SentenceGrounding

WORDS = "the man opens the door of the kitchen and then walks slowly towards the red car parked outside".split()


def _paragraph_result(num_sentences: int, duration: float, seed: int = 0):
    """A result with random sentences (3-25 words) and moments, plus ground truth near the moments."""
    rng = np.random.default_rng(seed)
    sentences, truth = [], []
    for _ in range(num_sentences):
        start = float(rng.uniform(0.0, 0.8 * duration))
        end = float(min(duration, start + rng.uniform(0.01, 0.4) * duration))
        text = " ".join(rng.choice(WORDS, int(rng.integers(3, 26))))
        sentences.append(SentenceGrounding(text, (Moment(start, end, float(rng.random())),)))
        truth.append([max(0.0, start - 0.05 * duration), min(duration, end + 0.03 * duration)])
    return ParagraphResult(RetrievalHit("v_QOlSCBRmfWY", 1, 0.83), duration, tuple(sentences)), truth


def _texts(figure):
    """Every non-empty visible text the figure draws (tick labels outside the axes' view left out), after a draw."""
    figure.canvas.draw()
    ticks, shown = set(), []
    for axes in figure.axes:
        for axis, limits in ((axes.xaxis, axes.get_xlim()), (axes.yaxis, axes.get_ylim())):
            ticks.update(
                t for tick in axis.get_major_ticks() + axis.get_minor_ticks() for t in (tick.label1, tick.label2)
            )
            low, high = sorted(limits)
            locations = axis.get_majorticklocs()
            shown += [t for loc, t in zip(locations, axis.get_majorticklabels(), strict=True) if low <= loc <= high]
    shown += [text for text in figure.findobj(match=Text) if text not in ticks]
    return [text for text in dict.fromkeys(shown) if text.get_visible() and text.get_text().strip()]


def _assert_no_overlap(figure, case: str) -> None:
    renderer = figure.canvas.get_renderer()
    boxes = [(text.get_text(), text.get_window_extent(renderer)) for text in _texts(figure)]
    for (text_a, box_a), (text_b, box_b) in itertools.combinations(boxes, 2):
        assert not box_a.overlaps(box_b), f"{case}: {text_a!r} overlaps {text_b!r}"
    width, height = figure.canvas.get_width_height()
    for text, box in boxes:
        assert box.x0 >= -1 and box.y0 >= -1 and box.x1 <= width + 1 and box.y1 <= height + 1, f"{case}: {text!r} cut"


def _patches(axes, gid_prefix: str) -> dict:
    return {patch.get_gid(): patch for patch in axes.patches if (patch.get_gid() or "").startswith(gid_prefix)}


@pytest.fixture(scope="module")
def index(model_and_processor, corpus, test_features):
    model, processor = model_and_processor
    durations = {row["video_id"]: row["duration"] for row in corpus.paragraphs["test"]}
    return VideoCorpusIndex.build(model, processor, test_features, durations, batch_size=4, show_progress=False)


# Timeline -----------------------------------------------------------------------------------------------------------


def test_timeline_rows_and_boxes_in_seconds():
    result, truth = _paragraph_result(4, 180.0)
    figure = plot_timeline(result, ground_truth=truth)
    (axes,) = figure.axes
    assert len(axes.get_yticks()) == 4, "one row per sentence"
    assert axes.get_xlim() == (0.0, 180.0), "the axis spans the video"
    predicted, true = _patches(axes, "predicted:"), _patches(axes, "truth:")
    assert len(predicted) == len(true) == 4
    for m, grounding in enumerate(result.sentences):
        moment, box = grounding.moments[0], predicted[f"predicted:{m}"]
        assert box.get_x() == pytest.approx(moment.start), f"sentence {m}: predicted start"
        assert box.get_x() + box.get_width() == pytest.approx(moment.end), f"sentence {m}: predicted end"
        assert true[f"truth:{m}"].get_x() == pytest.approx(truth[m][0]), f"sentence {m}: true start"
        assert true[f"truth:{m}"].get_x() + true[f"truth:{m}"].get_width() == pytest.approx(truth[m][1])
        assert m - 0.5 < box.get_y() < m + 0.5, f"sentence {m}: predicted bar in its row"
        assert np.allclose(box.get_facecolor(), sentence_colour(m)), f"sentence {m}: its colour"
    scores = sorted(text.get_text() for text in axes.texts if text.get_gid() == "score")
    assert scores == sorted(f"{g.moments[0].score:.2f}" for g in result.sentences), "each moment shows its score"


def test_timeline_without_ground_truth_has_no_truth_boxes():
    result, _ = _paragraph_result(2, 30.0)
    (axes,) = plot_timeline(result).axes
    assert len(_patches(axes, "predicted:")) == 2 and not _patches(axes, "truth:")


@pytest.mark.slow
@pytest.mark.parametrize(
    "num_sentences, duration, tick_pattern",
    [
        (1, 10.0, r"^\d+(\.\d+)?$"),
        (15, 10.0, r"^\d+(\.\d+)?$"),
        (15, 7200.0, r"^\d+:\d\d:\d\d$"),
        (6, 600.0, r"^\d+:\d\d$"),
    ],
)
def test_timeline_is_readable_for_any_duration(num_sentences, duration, tick_pattern):
    result, truth = _paragraph_result(num_sentences, duration, seed=num_sentences)
    figure = plot_timeline(result, ground_truth=truth)
    case = f"{num_sentences} sentences, {duration} s"
    _assert_no_overlap(figure, case)
    (axes,) = figure.axes
    ticks = [text.get_text() for text in _texts(figure) if text in axes.get_xticklabels()]
    assert 3 <= len(ticks) <= 10 and all(re.match(tick_pattern, tick) for tick in ticks), f"{case}: {ticks}"
    labels = [label.get_text() for label in axes.get_yticklabels()]
    assert all(label.count("\n") <= 1 for label in labels), f"{case}: labels wrap to at most two lines"
    assert labels[0].startswith("1. ") and labels[-1].startswith(f"{num_sentences}. ")


def test_timeline_cuts_long_sentences():
    long = SentenceGrounding("word " * 60, (Moment(1.0, 2.0, 0.5),))
    figure = plot_timeline(ParagraphResult(RetrievalHit("v", 1, 0.1), 10.0, (long,)))
    label = figure.axes[0].get_yticklabels()[0].get_text()
    assert label.count("\n") == 1 and label.endswith("…") and len(label) < 100


def test_timeline_rejects_bad_ground_truth():
    result, truth = _paragraph_result(3, 60.0)
    with pytest.raises(InputError, match="expected 3"):
        plot_timeline(result, ground_truth=truth[:2])
    with pytest.raises(InputError, match="sentence 1"):
        plot_timeline(result, ground_truth=[truth[0], [50.0, 10.0], truth[2]])
    with pytest.raises(InputError, match="sentence 2"):
        plot_timeline(result, ground_truth=[truth[0], truth[1], [0.0, 61.0]])


# Score maps ---------------------------------------------------------------------------------------------------------


def _maps(num_sentences: int, num_clips: int, seed: int = 0):
    mask = valid_cell_mask(num_clips, [16, 8, 8])
    maps = np.random.default_rng(seed).random((num_sentences, num_clips, num_clips)) * mask
    return maps, mask


def test_score_maps_panels_boxes_and_masked_cells():
    maps, mask = _maps(3, 32)
    predicted, truth = [(0, 15), (16, 31), (4, 4)], [(0, 17), (2, 3), (30, 31)]
    figure = plot_score_maps(maps, mask, predicted, truth, sentences=["a", "b", "c"])
    panels = [axes for axes in figure.axes if axes.images]
    assert len(panels) == 3, "one panel per sentence"
    for m, axes in enumerate(panels):
        image = axes.images[0]
        array = image.get_array()
        assert np.array_equal(np.ma.getmaskarray(array), ~mask), f"panel {m}: invalid cells masked"
        assert np.allclose(array[mask], maps[m][mask]), f"panel {m}: valid scores shown"
        assert tuple(image.get_extent()) == (0, 32, 32, 0), "cell (i, j) spans [j, j+1] x [i, i+1]"
        boxes = _patches(axes, "")
        for kind, cells in (("predicted", predicted), ("truth", truth)):
            i, j = cells[m]
            assert boxes[kind].get_xy() == (j, i), f"panel {m}: {kind} box at end clip {j}, start clip {i}"
            assert (boxes[kind].get_width(), boxes[kind].get_height()) == (1, 1)
        assert axes.get_title(loc="left").startswith(f"{m + 1}. "), f"panel {m}: numbered sentence title"
    assert panels[0].get_ylabel() == "start clip" and panels[0].get_xlabel() == "end clip"


def test_score_maps_accept_a_tensor_and_draw_no_boxes_by_default():
    torch = pytest.importorskip("torch")
    maps, mask = _maps(2, 16)
    figure = plot_score_maps(torch.as_tensor(maps), torch.as_tensor(mask))
    panels = [axes for axes in figure.axes if axes.images]
    assert len(panels) == 2 and not any(axes.patches for axes in panels)
    assert panels[1].get_title(loc="left") == "2. sentence 2"


@pytest.mark.slow
@pytest.mark.parametrize("num_sentences, num_clips", [(1, 16), (7, 64), (15, 32)])
def test_score_maps_labels_do_not_overlap(num_sentences, num_clips):
    maps, mask = _maps(num_sentences, num_clips)
    sentences = [" ".join(WORDS[: 3 + (m * 5) % 17]) for m in range(num_sentences)]
    cells = [divmod(int(np.argmax(np.where(mask, scores, -1.0))), num_clips) for scores in maps]
    figure = plot_score_maps(maps, mask, predicted=cells, ground_truth=cells, sentences=sentences)
    assert len([axes for axes in figure.axes if axes.images]) == num_sentences
    _assert_no_overlap(figure, f"{num_sentences} maps of {num_clips} clips")


def test_score_maps_reject_bad_input():
    maps, mask = _maps(2, 16)
    with pytest.raises(InputError, match="map_mask"):
        plot_score_maps(maps, mask[:8, :8])
    with pytest.raises(InputError, match="predicted, sentence 1"):
        plot_score_maps(maps, mask, predicted=[(0, 0), (5, 2)])
    with pytest.raises(InputError, match="expected 2"):
        plot_score_maps(maps, mask, ground_truth=[(0, 0)])
    with pytest.raises(InputError, match="2 score maps but 1 sentences"):
        plot_score_maps(maps, mask, sentences=["only one"])


def test_moments_to_cells_inverts_the_grid_rule():
    mask = valid_cell_mask(32, [16, 8, 8])
    rows, cols = np.nonzero(mask)
    seconds = cells_to_seconds(rows, cols, 95.0, 32)
    moments = [Moment(float(s), float(e), 0.5) for s, e in seconds]
    assert moments_to_cells(moments, 95.0, mask) == list(zip(rows.tolist(), cols.tolist(), strict=True))
    grounding = SentenceGrounding("x", (moments[7], moments[0]))
    assert moments_to_cells([grounding, [0.0, 95.0]], 95.0, mask) == [(rows[7], cols[7]), (0, 31)], "top-1, seconds"
    with pytest.raises(InputError, match="sentence 0"):
        moments_to_cells([[3.0, 3.0]], 95.0, mask)


# Retrieval ----------------------------------------------------------------------------------------------------------


def test_retrieval_bars_scores_and_true_video():
    hits = [RetrievalHit(f"video_{i}", i + 1, 0.5 - 0.2 * i) for i in range(5)]
    figure = plot_retrieval(hits, true_video="video_2")
    (axes,) = figure.axes
    bars = _patches(axes, "hit:")
    assert list(bars) == [f"hit:{hit.video_id}" for hit in hits], "one bar per video, best first"
    for row, hit in enumerate(hits):
        assert bars[f"hit:{hit.video_id}"].get_width() == pytest.approx(hit.score), hit.video_id
        assert bars[f"hit:{hit.video_id}"].get_y() + 0.35 == pytest.approx(row), f"{hit.video_id} in row {row}"
    colours = {gid: tuple(bar.get_facecolor()) for gid, bar in bars.items()}
    assert len({colour for gid, colour in colours.items() if gid != "hit:video_2"}) == 1
    assert colours["hit:video_2"] not in {colour for gid, colour in colours.items() if gid != "hit:video_2"}
    assert [t.get_text() for t in axes.texts] == [f" {hit.score:.3f} " for hit in hits], "scores written"
    assert axes.get_xlim()[0] < -0.3, "negative scores fit"
    _assert_no_overlap(figure, "retrieval")


def test_retrieval_says_when_the_true_video_is_missing(model_and_processor, corpus, index):
    model, processor = model_and_processor
    results = retrieve_and_ground(model, processor, corpus.paragraphs["test"][0]["sentences"], index, top_k=3)
    (axes,) = plot_retrieval(results, true_video="not-indexed").axes
    assert "'not-indexed' not among them" in axes.get_title()
    with pytest.raises(InputError, match="no results"):
        plot_retrieval([])


# Files and wiring ---------------------------------------------------------------------------------------------------


def test_save_figure_png_and_svg(tmp_path):
    result, truth = _paragraph_result(3, 40.0)
    figure = plot_timeline(result, truth)
    png = save_figure(figure, tmp_path / "deep" / "timeline.png")
    svg = save_figure(figure, tmp_path / "timeline.svg")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in svg.read_bytes()[:2000]
    with pytest.raises(InputError, match=r"\.png"):
        save_figure(figure, tmp_path / "timeline.jpg")


@pytest.mark.slow
def test_save_query_plots_on_a_real_query(model_and_processor, corpus, index, tmp_path):
    model, processor = model_and_processor
    row = corpus.paragraphs["test"][0]
    results = retrieve_and_ground(model, processor, row["sentences"], index, top_k=4)
    best = results[0]
    paths = save_query_plots(
        model, processor, index, results, tmp_path, true_video=best.hit.video_id, ground_truth=row["timestamps"]
    )
    assert sorted(paths) == ["retrieval", "score_maps", "timeline"]
    assert all(path.read_bytes()[:4] == b"\x89PNG" for path in paths.values())
    svg = save_query_plots(model, processor, index, results, tmp_path, file_format="svg", prefix="q1_")
    assert sorted(path.name for path in svg.values()) == ["q1_retrieval.svg", "q1_score_maps.svg", "q1_timeline.svg"]
    with pytest.raises(InputError, match="ParagraphResults"):
        save_query_plots(model, processor, index, [r.hit for r in results], tmp_path)


def test_predicted_cells_are_the_best_cells_of_the_score_maps(model_and_processor, corpus, index):
    model, processor = model_and_processor
    row = corpus.paragraphs["test"][1]
    result = retrieve_and_ground(model, processor, row["sentences"], index, top_k=1)[0]
    maps = sentence_score_maps(model, processor, row["sentences"], index, result.hit.video_id)
    cells = moments_to_cells(result.sentences, result.duration, processor.map_mask)
    for m, ((i, j), grounding) in enumerate(zip(cells, result.sentences, strict=True)):
        assert maps[m, i, j] == pytest.approx(grounding.moments[0].score, abs=1e-6), f"sentence {m}: its score"
        assert maps[m, i, j] == pytest.approx(maps[m][processor.map_mask].max(), abs=1e-6), f"sentence {m}: best cell"


@pytest.mark.slow
def test_importing_the_package_does_not_import_matplotlib():
    code = (
        "import sys, dmr_jrg_hf, dmr_jrg_hf.inference as inference\n"
        "assert 'matplotlib' not in sys.modules, 'imported eagerly'\n"
        "assert inference.plot_timeline.__module__ == 'dmr_jrg_hf.inference.plots'\n"
        "assert 'matplotlib' in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_without_matplotlib_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails
    monkeypatch.delitem(sys.modules, "dmr_jrg_hf.inference.plots")
    with pytest.raises(ImportError, match=r"dmr_jrg_hf\[viz\]"):
        importlib.import_module("dmr_jrg_hf.inference.plots")
