"""Figures of what the model found: sentence timeline (paper Fig. 9b), score maps (Fig. 10), top-k videos (Fig. 9a).

Every function returns a `matplotlib.figure.Figure` drawn on the Agg canvas, built through matplotlib's object API
without pyplot, so figures can be made from threads and servers (the Gradio app) and nothing is left open in a global
figure registry. `save_figure` writes PNG or SVG. Needs the ``viz`` extra: ``pip install 'dmr_jrg_hf[viz]'``.

Sentence ``m`` has the same colour in every figure (`sentence_colour`). Cells of a score map are boxed at the
``(start clip, end clip)`` index of the one grid rule (`dmr_jrg_hf.geometry`); `moments_to_cells` turns moments in
seconds into those cells.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

try:
    import matplotlib
    from matplotlib import patheffects
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle
    from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator
except ModuleNotFoundError as error:  # pragma: no cover - depends on the installed extras
    raise ImportError("dmr_jrg_hf.inference.plots needs matplotlib: pip install 'dmr_jrg_hf[viz]'") from error

from ..errors import InputError
from ..geometry import seconds_to_cell
from ..results import Moment, ParagraphResult, RetrievalHit, SentenceGrounding
from .index import VideoCorpusIndex
from .search import sentence_score_maps

if TYPE_CHECKING:
    from ..modeling_dmr_jrg import DMRJRGModel
    from ..processing_dmr_jrg import DMRJRGProcessor

__all__ = [
    "FIGURE_FORMATS",
    "moments_to_cells",
    "plot_retrieval",
    "plot_score_maps",
    "plot_timeline",
    "save_figure",
    "save_query_plots",
    "sentence_colour",
]

FIGURE_FORMATS = ("png", "svg")

_PREDICTED_EDGE = "#e41a1c"
_TRUTH_EDGE = "#ffffff"
_TRUE_VIDEO = "#2ca02c"
_OTHER_VIDEO = "#8c9fb5"
_NICE_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
_OUTLINE = [patheffects.withStroke(linewidth=3.5, foreground="black")]


def _new_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def sentence_colour(index: int) -> tuple[float, float, float, float]:
    """The colour of sentence ``index`` (from 0) in every figure: the 10 dark tab20 colours, then the 10 light ones."""
    return matplotlib.colormaps["tab20"]((2 * index) % 20 + (index // 10) % 2)


def _label(number: int, text: str, width: int, max_lines: int = 2) -> str:
    """``"{number}. {text}"`` wrapped to ``width`` characters, cut with ``…`` after ``max_lines`` lines."""
    return "\n".join(
        textwrap.wrap(f"{number}. {' '.join(text.split())}", width, max_lines=max_lines, placeholder=" …")
    )


def _clock(seconds: float, with_hours: bool) -> str:
    """``m:ss``, or ``h:mm:ss`` with hours."""
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}" if with_hours else f"{minutes}:{secs:02d}"


def _format_time_axis(axis, duration: float) -> str:
    """Seconds below a minute, else ``m:ss`` / ``h:mm:ss`` ticks at a round step (at most 8 intervals); the unit."""
    if duration < 60:
        axis.set_major_locator(MaxNLocator(nbins=8, steps=[1, 2, 2.5, 5, 10]))
        return "s"
    step = next((s for s in _NICE_STEPS if duration / s <= 8), math.ceil(duration / 8))
    axis.set_major_locator(MultipleLocator(step))
    with_hours = duration >= 3600
    axis.set_major_formatter(FuncFormatter(lambda seconds, _position: _clock(seconds, with_hours)))
    return "h:mm:ss" if with_hours else "m:ss"


def _check_spans(spans, count: int, duration: float, what: str) -> np.ndarray:
    """``spans`` as a (count, 2) float array of ``[start, end]`` inside ``[0, duration]``; errors name the sentence."""
    array = np.asarray(spans, dtype=np.float64)
    if array.shape != (count, 2):
        raise InputError(f"{what}: expected {count} [start, end] pairs (one per sentence), got shape {array.shape}")
    tolerance = 1e-6 * max(duration, 1.0)
    for m, (start, end) in enumerate(array):
        if not (np.isfinite(start) and np.isfinite(end) and -tolerance <= start <= end <= duration + tolerance):
            raise InputError(f"{what}, sentence {m}: [{start}, {end}] is not inside [0, {duration}] with start <= end")
    return array


def _score_text(axes, moment: Moment, y: float, duration: float) -> None:
    """The score inside a wide bar, else right of it, else (bars ending near the video's end) left of it."""
    width = moment.end - moment.start
    text = f"{moment.score:.2f}"
    if width >= 0.1 * duration:
        x, align, colour = moment.start + width / 2, "center", "white"
    elif moment.end <= 0.9 * duration:
        x, align, colour = moment.end + 0.01 * duration, "left", "black"
    else:
        x, align, colour = moment.start - 0.01 * duration, "right", "black"
    effects = [patheffects.withStroke(linewidth=2, foreground="black")] if colour == "white" else []
    axes.text(x, y, text, ha=align, va="center", fontsize=8, color=colour, path_effects=effects, gid="score")


def plot_timeline(result: ParagraphResult, ground_truth: Sequence[Sequence[float]] | None = None) -> Figure:
    """Per-sentence timeline of one video (paper Fig. 9b): the predicted top-1 moment of each sentence with its score.

    One row per sentence (top to bottom in paragraph order), labelled with its wrapped text; the time axis spans the
    video in seconds (``m:ss`` from a minute, ``h:mm:ss`` from an hour). Predicted moments are filled bars in the
    sentence's colour (artist ``gid`` ``"predicted:{m}"``), ground-truth moments hatched bars above them
    (``"truth:{m}"``). Only the rank-1 moment of each sentence is drawn.

    Args:
        result (ParagraphResult): one video of `retrieve_and_ground` (or a result built from `ground`).
        ground_truth (list of [start, end] seconds, optional): one per sentence, e.g. the paragraph row's timestamps.

    Returns:
        matplotlib.figure.Figure

    Raises:
        InputError: a result without sentences or moments, or ground truth that does not match the sentences.
    """
    sentences = result.sentences
    if not sentences or any(not grounding.moments for grounding in sentences):
        raise InputError(f"plot_timeline: video {result.hit.video_id!r} has a sentence without moments")
    duration = float(result.duration)
    truth = None if ground_truth is None else _check_spans(ground_truth, len(sentences), duration, "ground_truth")
    row_height = 0.5 if truth is None else 0.62
    figure = _new_figure(10.0, 1.5 + row_height * len(sentences))
    axes = figure.add_subplot()
    half = 0.3 if truth is None else 0.36
    for m, grounding in enumerate(sentences):
        colour, top = sentence_colour(m), grounding.moments[0]
        low, high = (m - half, m + half) if truth is None else (m + 0.02, m + half)
        axes.add_patch(
            Rectangle((top.start, low), top.end - top.start, high - low, color=colour, gid=f"predicted:{m}")
        )
        _score_text(axes, top, (low + high) / 2, duration)
        if truth is not None:
            start, end = truth[m]
            box = Rectangle((start, m - half), end - start, half - 0.02, facecolor="white", edgecolor=colour)
            box.set(hatch="////", linewidth=1.5, gid=f"truth:{m}")
            axes.add_patch(box)
    axes.set_xlim(0.0, duration)
    axes.set_ylim(len(sentences) - 0.5, -0.5)
    axes.set_yticks(range(len(sentences)), [_label(m + 1, g.sentence, 42) for m, g in enumerate(sentences)])
    axes.tick_params(axis="y", labelsize=8, length=0)
    axes.set_xlabel(f"time ({_format_time_axis(axes.xaxis, duration)})")
    axes.grid(axis="x", alpha=0.3)
    axes.set_title(f"{result.hit.video_id}: rank {result.hit.rank}, score {result.hit.score:.3f}", fontsize=10)
    handles = [Patch(color="0.4", label="predicted (top-1, score)")]
    if truth is not None:
        handles.append(Patch(facecolor="white", edgecolor="0.4", hatch="////", label="ground truth"))
    figure.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8, frameon=False)
    return figure


def _as_array(values) -> np.ndarray:
    """numpy view of an array-like or a torch tensor (on any device)."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values)


def _check_cells(cells, count: int, mask: np.ndarray, what: str) -> list[tuple[int, int]]:
    """One valid ``(start clip, end clip)`` cell per sentence; errors name the sentence."""
    cells = [tuple(int(v) for v in cell) for cell in cells]
    if len(cells) != count or any(len(cell) != 2 for cell in cells):
        raise InputError(f"{what}: expected {count} (start clip, end clip) cells, one per sentence, got {cells}")
    size = mask.shape[0]
    for m, (i, j) in enumerate(cells):
        if not (0 <= i < size and 0 <= j < size and mask[i, j]):
            raise InputError(f"{what}, sentence {m}: cell {(i, j)} is not a valid cell of the {size}x{size} map")
    return cells


def moments_to_cells(
    moments: Sequence[Moment | SentenceGrounding | Sequence[float]], duration: float, map_mask: np.ndarray
) -> list[tuple[int, int]]:
    """The map cell of each moment: ``(start clip, end clip)`` of the valid cell with the highest IoU.

    A predicted moment gets back exactly the cell it was read from (`dmr_jrg_hf.geometry.seconds_to_cell`).

    Args:
        moments: per sentence a `Moment`, a `SentenceGrounding` (its top-1 moment) or ``[start, end]`` seconds.
        duration (float): the video's duration in seconds.
        map_mask (np.ndarray of bool, shape (num_clips, num_clips)): valid cells, ``processor.map_mask``.

    Returns:
        list of (int, int), one per moment.

    Raises:
        InputError: a moment that is not ``start < end`` (a zero-length moment overlaps no cell).
    """
    mask = np.asarray(map_mask, dtype=bool)
    cells = []
    for m, moment in enumerate(moments):
        if isinstance(moment, SentenceGrounding):
            moment = moment.moments[0]
        span = (moment.start, moment.end) if isinstance(moment, Moment) else tuple(float(v) for v in moment)
        if len(span) != 2 or not span[0] < span[1]:
            raise InputError(f"moments_to_cells, sentence {m}: expected [start, end] with start < end, got {span}")
        cells.append(tuple(int(v) for v in seconds_to_cell(span, duration, mask.shape[0], mask)))
    return cells


_BOX_STYLES = {  # gid prefix -> (edge colour, line style, legend label)
    "predicted": (_PREDICTED_EDGE, "-", "predicted cell"),
    "truth": (_TRUTH_EDGE, "--", "ground-truth cell"),
}


def _draw_map(axes, scores: np.ndarray, mask: np.ndarray, colour_range: tuple[float, float], boxes: dict) -> object:
    """One panel: masked heatmap with cell ``(i, j)`` at ``[j, j + 1] x [i, i + 1]``, boxes; returns the image."""
    size = len(mask)
    colour_map = matplotlib.colormaps["viridis"].with_extremes(bad=(0.0, 0.0, 0.0, 0.0))
    image = axes.imshow(
        np.ma.masked_array(scores, mask=~mask),
        cmap=colour_map,
        vmin=colour_range[0],
        vmax=colour_range[1],
        extent=(0, size, size, 0),
        interpolation="nearest",
    )
    for kind, (i, j) in boxes.items():
        colour, style, _ = _BOX_STYLES[kind]
        box = Rectangle((j, i), 1, 1, fill=False, edgecolor=colour, linestyle=style, linewidth=1.8, gid=kind)
        box.set_path_effects(_OUTLINE)
        axes.add_patch(box)
    ticks = np.arange(0, size, max(1, math.ceil(size / 6)))
    axes.set_xticks(ticks + 0.5, [str(t) for t in ticks], fontsize=7)
    axes.set_yticks(ticks + 0.5, [str(t) for t in ticks], fontsize=7)
    return image


def plot_score_maps(
    score_maps,
    map_mask,
    predicted: Sequence[Sequence[int]] | None = None,
    ground_truth: Sequence[Sequence[int]] | None = None,
    *,
    sentences: Sequence[str] | None = None,
) -> Figure:
    """One 2D score map per sentence (paper Fig. 10), predicted and ground-truth cells boxed.

    Row ``i`` (y axis, top down) is the start clip, column ``j`` (x axis) the end clip; cell ``(i, j)`` spans
    ``[j, j + 1] x [i, i + 1]`` in data coordinates, so a box's corner is its cell index. Cells outside ``map_mask``
    are masked (left blank). One colour scale (the range of the valid scores) is shared by all panels, at most five
    panels a row. Predicted boxes are solid red (artist ``gid`` ``"predicted"``), ground-truth boxes dashed white
    (``"truth"``).

    Args:
        score_maps (array or tensor of shape (num_sentences, num_clips, num_clips)): e.g. `sentence_score_maps`.
        map_mask (array of bool, shape (num_clips, num_clips)): valid cells, ``processor.map_mask``.
        predicted, ground_truth (list of (start clip, end clip), optional): one cell per sentence (`moments_to_cells`).
        sentences (list of str, optional): panel titles; ``"sentence m"`` when not given.

    Returns:
        matplotlib.figure.Figure

    Raises:
        InputError: shapes that do not match, or a cell outside the valid cells.
    """
    maps = _as_array(score_maps).astype(np.float64)
    mask = _as_array(map_mask).astype(bool)
    if maps.ndim != 3 or len(maps) == 0 or not maps.shape[1] == maps.shape[2] == mask.shape[0] == mask.shape[-1]:
        raise InputError(
            f"plot_score_maps: expected score_maps (num_sentences, K, K) and map_mask (K, K), got {maps.shape} and "
            f"{mask.shape}"
        )
    count = len(maps)
    titles = [f"sentence {m + 1}" for m in range(count)] if sentences is None else list(sentences)
    if len(titles) != count:
        raise InputError(f"plot_score_maps: {count} score maps but {len(titles)} sentences")
    cells = {
        kind: _check_cells(given, count, mask, name)
        for kind, name, given in (("predicted", "predicted", predicted), ("truth", "ground_truth", ground_truth))
        if given is not None
    }
    valid = maps[:, mask]
    colour_range = (float(valid.min()), float(valid.max())) if np.ptp(valid) > 1e-6 else (0.0, 1.0)
    columns = min(count, 5)
    rows = math.ceil(count / columns)
    figure = _new_figure(2.5 * columns + 1.2, 2.75 * rows + 0.7)
    panels = [figure.add_subplot(rows, columns, m + 1) for m in range(count)]
    for m, axes in enumerate(panels):
        image = _draw_map(axes, maps[m], mask, colour_range, {kind: cells[kind][m] for kind in cells})
        axes.set_title(_label(m + 1, titles[m], 30), fontsize=8, color=sentence_colour(m), loc="left")
        if m + columns >= count:
            axes.set_xlabel("end clip", fontsize=8)
        if m % columns == 0:
            axes.set_ylabel("start clip", fontsize=8)
    figure.colorbar(image, ax=panels, label="score", shrink=0.8)
    if cells:
        handles = [
            Line2D([], [], color=colour, linestyle=style, linewidth=1.8, path_effects=_OUTLINE, label=label)
            for colour, style, label in (_BOX_STYLES[kind] for kind in cells)
        ]
        figure.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8, frameon=False)
    return figure


def plot_retrieval(results: Sequence[ParagraphResult | RetrievalHit], true_video: str | None = None) -> Figure:
    """The top-k videos of a paragraph (paper Fig. 9a) as horizontal bars of their scores, best on top.

    The ground-truth video's bar is green (``gid`` ``"hit:{video_id}"`` on every bar); when it is not among the
    results the title says so.

    Args:
        results (list of ParagraphResult or RetrievalHit): `retrieve_and_ground` or `retrieve` output, best first.
        true_video (str, optional): the paragraph's video id.

    Returns:
        matplotlib.figure.Figure

    Raises:
        InputError: no results.
    """
    hits = [getattr(result, "hit", result) for result in results]
    if not hits:
        raise InputError("plot_retrieval: no results to plot")
    scores = np.array([hit.score for hit in hits], dtype=np.float64)
    figure = _new_figure(8.0, 1.4 + 0.36 * len(hits))
    axes = figure.add_subplot()
    for row, hit in enumerate(hits):
        is_true = hit.video_id == true_video
        colour = _TRUE_VIDEO if is_true else _OTHER_VIDEO
        axes.barh(row, hit.score, height=0.7, color=colour, gid=f"hit:{hit.video_id}")
        axes.text(
            hit.score, row, f" {hit.score:.3f} ", ha="left" if hit.score >= 0 else "right", va="center", fontsize=8
        )
    low, high = min(0.0, float(scores.min())), max(0.0, float(scores.max()))
    span = (high - low) or 1.0
    axes.set_xlim(low - (0.18 * span if low < 0 else 0.0), high + 0.18 * span)
    axes.set_ylim(len(hits) - 0.5, -0.5)
    labels = [f"#{hit.rank} {textwrap.shorten(hit.video_id, 32, placeholder='…')}" for hit in hits]
    axes.set_yticks(range(len(hits)), labels, fontsize=8)
    for label, hit in zip(axes.get_yticklabels(), hits, strict=True):
        if hit.video_id == true_video:
            label.set_fontweight("bold")
            label.set_color(_TRUE_VIDEO)
    axes.axvline(0.0, color="0.3", linewidth=0.8)
    axes.set_xlabel("paragraph-video score (cosine)")
    title = f"top-{len(hits)} videos"
    if true_video is not None and true_video not in {hit.video_id for hit in hits}:
        title += f" (ground truth {true_video!r} not among them)"
    axes.set_title(title, fontsize=10)
    if true_video is not None:
        handles = [Patch(color=_TRUE_VIDEO, label="ground-truth video"), Patch(color=_OTHER_VIDEO, label="other")]
        figure.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    return figure


def save_figure(figure: Figure, path: str | Path) -> Path:
    """Write ``figure`` to ``path`` as PNG (150 dpi) or SVG, chosen by the suffix; parent folders are created.

    Raises:
        InputError: a suffix other than ``.png`` or ``.svg``.
    """
    path = Path(path)
    file_format = path.suffix.lower().lstrip(".")
    if file_format not in FIGURE_FORMATS:
        raise InputError(f"save_figure: {path}: the suffix must be one of {['.' + f for f in FIGURE_FORMATS]}")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format=file_format, dpi=150)
    return path


def save_query_plots(
    model: DMRJRGModel,
    processor: DMRJRGProcessor,
    index: VideoCorpusIndex,
    results: Sequence[ParagraphResult],
    output_dir: str | Path,
    true_video: str | None = None,
    ground_truth: Sequence[Sequence[float]] | None = None,
    file_format: str = "png",
    prefix: str = "",
) -> dict[str, Path]:
    """Save the figures of one paragraph query: the top-k videos, and the timeline and score maps of the rank-1 video.

    Args:
        model (DMRJRGModel), processor (DMRJRGProcessor), index (VideoCorpusIndex): what ``results`` came from.
        results (list of ParagraphResult): `retrieve_and_ground` output for one paragraph, best first.
        output_dir (str or Path): created when missing.
        true_video (str, optional): the paragraph's video, marked in the retrieval plot.
        ground_truth (list of [start, end] seconds, optional): the sentences' moments in ``true_video``; drawn when
            ``true_video`` is the rank-1 video.
        file_format (str): ``"png"`` or ``"svg"``.
        prefix (str): prepended to the file names ``retrieval``, ``timeline`` and ``score_maps``.

    Returns:
        dict name -> path of the written files.

    Raises:
        InputError: results without grounding (`retrieve` output) or an unknown format.
    """
    if not results or not all(isinstance(result, ParagraphResult) for result in results):
        raise InputError("save_query_plots: expected the ParagraphResults of retrieve_and_ground for one paragraph")
    if file_format not in FIGURE_FORMATS:
        raise InputError(f"save_query_plots: file_format must be one of {list(FIGURE_FORMATS)}, got {file_format!r}")
    best = results[0]
    truth = ground_truth if true_video is not None and best.hit.video_id == true_video else None
    sentences = [grounding.sentence for grounding in best.sentences]
    score_maps = sentence_score_maps(model, processor, sentences, index, best.hit.video_id)
    mask = processor.map_mask
    figures = {
        "retrieval": plot_retrieval(results, true_video),
        "timeline": plot_timeline(best, truth),
        "score_maps": plot_score_maps(
            score_maps,
            mask,
            moments_to_cells(best.sentences, best.duration, mask),
            None if truth is None else moments_to_cells(truth, best.duration, mask),
            sentences=sentences,
        ),
    }
    output_dir = Path(output_dir)
    return {
        name: save_figure(figure, output_dir / f"{prefix}{name}.{file_format}") for name, figure in figures.items()
    }
