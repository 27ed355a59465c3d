"""Paragraph-search web app (Gradio): retrieve the videos of a paragraph and show where each sentence happens.

A paragraph box (prefilled with an example), a top-k control and a results table (video, score, and per sentence the
top moment's start, end and score); a bar chart of the retrieved videos' scores; for the video selected in the list
(or by clicking a table row) the per-sentence timeline and the score maps ``P_m`` with the predicted cells boxed, and
the true ones when the paragraph is a known test paragraph. When the index records the video files (``dmr-jrg index
--videos``), a player shows the selected row's video seeked to the predicted start of its sentence's moment (an HTML5
``<video>`` whose source carries the start as a media fragment, ``#t=<seconds>``); otherwise a one-line note says why
there is no player. Bad input (an empty paragraph, a sentence whose words are all unknown) shows its message in the
status box and as a warning toast, never a traceback.

Offline by design: no analytics (``analytics_enabled=False``), a theme with system fonts (no font downloads), no
server-side rendering, bound to 127.0.0.1 unless ``host`` says otherwise; the server serves the video files the index
names and no other local file (Gradio's ``allowed_paths`` lists exactly those files). Needs the ``app`` extra
(``pip install dmr_jrg_hf[app]``: gradio + matplotlib).

Example:
    >>> from dmr_jrg_hf.apps.app import launch
    >>> launch("outputs/demo")  # doctest: +SKIP   (serves http://127.0.0.1:7860)
"""

# No `from __future__ import annotations` here: Gradio finds the event-data parameter of a handler by its evaluated
# annotation (``gr.SelectData``), which a string annotation naming a local ``gr`` cannot give it.
import html
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..errors import DMRJRGError, InputError
from ..results import ParagraphResult
from .session import RESULT_COLUMNS, Playback, SearchSession, result_rows

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "ERROR_PREFIX", "NO_VIDEO_FILES_NOTE", "build_app", "launch", "player_html"]

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
ERROR_PREFIX = "Error:"
_MAX_TOP_K = 20
_FILE_ROUTE = "gradio_api/file="  # Gradio's route for the files in ``allowed_paths``, relative to the page
NO_VIDEO_FILES_NOTE = (
    "No player: this index records no video files (it was built from features); index the videos with "
    "`dmr-jrg index --videos DIR` or start the app with `dmr-jrg app --videos DIR` to play the moments here."
)
_NO_PLAYER_HTML = f'<p id="player-note">{html.escape(NO_VIDEO_FILES_NOTE)}</p>'


def _import_gradio():
    """gradio, with analytics off before it is imported; a clear error when the ``app`` extra is missing."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    try:
        import gradio
    except ImportError as error:
        raise InputError("the web app needs gradio: pip install 'dmr_jrg_hf[app]'") from error
    return gradio


def _offline_theme(gr):
    """The default theme with system fonts, so the page loads no font files."""
    return gr.themes.Default(
        font=["system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
    )


def _video_figures(session: SearchSession, sentences: Sequence[str], result: ParagraphResult) -> tuple[Any, Any]:
    """Timeline and score-map figures of the paragraph in one retrieved video (predicted and, if known, true)."""
    from ..inference.plots import moments_to_cells, plot_score_maps, plot_timeline

    map_mask = session.predictor.processor.map_mask
    truth = session.true_moments(sentences, result.hit.video_id)
    maps = session.predictor.sentence_score_maps(list(sentences), result.hit.video_id)
    score_maps = plot_score_maps(
        maps,
        map_mask,
        predicted=moments_to_cells(result.sentences, result.duration, map_mask),
        ground_truth=None if truth is None else moments_to_cells(truth, result.duration, map_mask),
        sentences=sentences,
    )
    return plot_timeline(result, ground_truth=truth), score_maps


def player_html(playback: Playback | None) -> str:
    """The player of one table row: its video file seeked to the predicted start (``#t=`` media fragment) with a
    caption naming the moment, `NO_VIDEO_FILES_NOTE` when the index records no file, nothing before a search."""
    if playback is None:
        return ""
    if playback.video_file is None:
        return _NO_PLAYER_HTML
    source = f"{_FILE_ROUTE}{quote(str(playback.video_file))}#t={playback.start:.3f}"
    caption = f"{playback.video_id}: {playback.start:.2f}-{playback.end:.2f} s, “{playback.sentence}”"
    return (
        f'<video id="player-video" src="{html.escape(source)}" controls preload="auto" playsinline '
        f'style="max-width: 100%; max-height: 360px"></video><p id="player-caption">{html.escape(caption)}</p>'
    )


def _first_row(results: Sequence[ParagraphResult], video_id: str) -> int:
    """The table row of a retrieved video's first sentence."""
    rows = 0
    for result in results:
        if result.hit.video_id == video_id:
            return rows
        rows += len(result.sentences)
    raise InputError(f"video {video_id!r} is not among the results")


def _status(session: SearchSession, sentences: Sequence[str], results: Sequence[ParagraphResult], ms: float) -> str:
    line = (
        f"Top {len(results)} of {len(session.predictor.corpus)} videos for a paragraph of {len(sentences)} "
        f"sentence{'s' if len(sentences) != 1 else ''} ({ms:.0f} ms)."
    )
    true_video = session.true_video(sentences)
    if true_video is not None:
        ranks = [result.hit.rank for result in results if result.hit.video_id == true_video]
        line += f" Ground-truth video `{true_video}`: " + (f"rank {ranks[0]}." if ranks else "not in the top k.")
    return line


class _Handlers:
    """The app's event handlers over one `SearchSession`; Gradio calls them with component values."""

    def __init__(self, gr, session: SearchSession):
        self.gr = gr
        self.session = session

    def search(self, paragraph: str, top_k: float):
        """-> status, table rows, video list, retrieval plot, timeline, score maps, player (first row), state
        (sentences, results)."""
        gr, started = self.gr, time.perf_counter()
        try:
            sentences, results = self.session.search(paragraph, int(top_k))
        except DMRJRGError as error:
            gr.Warning(str(error))
            empty = gr.update(choices=[], value=None)
            return f"**{ERROR_PREFIX}** {error}", [], empty, None, None, None, "", None
        from ..inference.plots import plot_retrieval

        timeline, score_maps = _video_figures(self.session, sentences, results[0])
        videos = [result.hit.video_id for result in results]
        return (
            _status(self.session, sentences, results, 1000 * (time.perf_counter() - started)),
            result_rows(results),
            gr.update(choices=videos, value=videos[0]),
            plot_retrieval(results, true_video=self.session.true_video(sentences)),
            timeline,
            score_maps,
            player_html(self.session.playback(results, 0)),
            (sentences, results),
        )

    def select_video(self, video_id: str | None, state):
        """-> timeline, score maps and player (first sentence) of the chosen retrieved video."""
        if not state or not video_id:
            return None, None, ""
        sentences, results = state
        chosen = next(result for result in results if result.hit.video_id == video_id)
        playback = self.session.playback(results, _first_row(results, video_id))
        return (*_video_figures(self.session, sentences, chosen), player_html(playback))

    def select_row(self, cell: int | Sequence[int], state):
        """A click on a table cell (row, column) chooses its row -> video list value, timeline, score maps of its
        video, and the player at the predicted start of its sentence's moment."""
        if not state:
            return self.gr.update(), None, None, ""
        sentences, results = state
        playback = self.session.playback(results, cell[0] if isinstance(cell, list | tuple) else cell)
        chosen = next(result for result in results if result.hit.video_id == playback.video_id)
        figures = _video_figures(self.session, sentences, chosen)
        return (self.gr.update(value=playback.video_id), *figures, player_html(playback))


def build_app(
    model_dir: str | Path | None = None,
    index_dir: str | Path | None = None,
    top_k: int = 5,
    example: str | None = None,
    session: SearchSession | None = None,
):
    """Build the paragraph-search app.

    Args:
        model_dir (str or Path, optional): model folder or Hub id; default ``outputs/demo`` (run ``make demo``).
        index_dir (str or Path, optional): index folder (``dmr-jrg index``); default: the synthetic test corpus
            indexed with the model, with its first paragraph as the example and its ground truth in the plots.
        top_k (int): initial number of videos (the slider goes up to 20 or the corpus size).
        example (str, optional): paragraph shown when the page opens.
        session (SearchSession, optional): an already loaded session (then the folders are not read).

    Returns:
        gradio.Blocks: start it with `launch` (which applies the offline theme) or ``.launch()``.

    Raises:
        InputError: gradio missing, no demo model, an index built with another model.
    """
    gr = _import_gradio()
    session = session or SearchSession.load(model_dir, index_dir, example)
    logger.info("paragraph search app: %s", session.description)
    handlers = _Handlers(gr, session)
    max_top_k = max(1, min(_MAX_TOP_K, len(session.predictor.corpus)))
    with gr.Blocks(analytics_enabled=False, title="DMR-JRG paragraph search") as app:
        gr.Markdown(f"# DMR-JRG paragraph search\n{session.description}")
        with gr.Row():
            paragraph = gr.Textbox(
                value=example or session.example,
                label="Paragraph (sentences end with . ! or ?)",
                lines=4,
                scale=4,
                elem_id="paragraph",
            )
            with gr.Column(scale=1):
                k = gr.Slider(1, max_top_k, value=min(top_k, max_top_k), step=1, label="top k", elem_id="top-k")
                search = gr.Button("Search", variant="primary", elem_id="search")
        status = gr.Markdown(elem_id="status")
        table = gr.Dataframe(headers=list(RESULT_COLUMNS), interactive=False, label="Results", elem_id="results")
        retrieval_plot = gr.Plot(show_label=False, elem_id="retrieval-plot")  # figures carry their own titles
        video = gr.Dropdown(choices=[], label="Video shown below", interactive=True, elem_id="video")
        player = gr.HTML("" if session.video_files() else _NO_PLAYER_HTML, elem_id="player", js_on_load=None)
        timeline = gr.Plot(show_label=False, elem_id="timeline")
        score_maps = gr.Plot(show_label=False, elem_id="score-maps")
        state = gr.State()
        outputs = [status, table, video, retrieval_plot, timeline, score_maps, player, state]
        search.click(handlers.search, [paragraph, k], outputs)
        paragraph.submit(handlers.search, [paragraph, k], outputs)
        video.input(handlers.select_video, [video, state], [timeline, score_maps, player])

        def select_row(state, event: gr.SelectData):
            return handlers.select_row(event.index, state)

        table.select(select_row, [state], [video, timeline, score_maps, player])
    return app


def launch(
    model_dir: str | Path | None = None,
    index_dir: str | Path | None = None,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    top_k: int = 5,
    example: str | None = None,
    block: bool = True,
):
    """Build the app and serve it on ``http://host:port`` with the offline theme; the video files the index names
    are the only local files it serves.

    Args:
        host (str): interface to bind; 127.0.0.1 (this machine only) by default, 0.0.0.0 to serve a network.
        port (int): TCP port.
        block (bool): wait until the server stops (False: return at once; close the app with ``app.close()``).
        model_dir, index_dir, top_k, example: see `build_app`.

    Returns:
        gradio.Blocks: the running app.
    """
    gr = _import_gradio()
    session = SearchSession.load(model_dir, index_dir, example)
    app = build_app(top_k=top_k, example=example, session=session)
    video_files = [str(path) for path in session.video_files()]
    app.launch(
        allowed_paths=video_files or None,
        server_name=host,
        server_port=port,
        share=False,
        ssr_mode=False,
        theme=_offline_theme(gr),
        prevent_thread_lock=not block,
        quiet=not block,
    )
    return app
