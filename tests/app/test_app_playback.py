"""Playback without a browser: a results-table row maps to its video file and the predicted start of its moment, the
player markup seeks there, and an index without video files gets the note instead of a player."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from dmr_jrg_hf.apps import app as app_module
from dmr_jrg_hf.apps.session import RESULT_COLUMNS, Playback, SearchSession, result_rows
from dmr_jrg_hf.errors import InputError
from dmr_jrg_hf.inference import DMRJRGPredictor, VideoCorpusIndex
from dmr_jrg_hf.loading import load_pretrained


@pytest.fixture(scope="module")
def session(app_folders) -> SearchSession:
    """The app folders' model and index, with a (not necessarily existing) file for every video but the last."""
    model, processor = load_pretrained(app_folders.model_dir)
    index = VideoCorpusIndex.load(app_folders.index_dir)
    index.video_files = {video_id: f"/videos/{video_id} clip.mp4" for video_id in index.video_ids[:-1]}
    return SearchSession(DMRJRGPredictor(model, processor, index), app_folders.example)


def test_each_row_maps_to_its_video_file_and_predicted_start(session):
    sentences, results = session.search(session.example, 8)
    rows = result_rows(results)
    column = {name: RESULT_COLUMNS.index(name) for name in ("video", "sentence", "start (s)", "end (s)")}
    groundings = [grounding for result in results for grounding in result.sentences]
    assert len(rows) == len(groundings) == 8 * len(sentences)
    for row, (table_row, grounding) in enumerate(zip(rows, groundings, strict=True)):
        playback = session.playback(results, row)
        video_id = table_row[column["video"]]
        expected_file = (
            Path(f"/videos/{video_id} clip.mp4") if video_id != session.predictor.corpus.video_ids[-1] else None
        )
        assert (playback.video_id, playback.sentence, playback.video_file) == (
            video_id,
            table_row[column["sentence"]],
            expected_file,
        ), f"row {row}"
        assert (playback.start, playback.end) == (grounding.moments[0].start, grounding.moments[0].end), f"row {row}"
        assert round(playback.start, 2) == table_row[column["start (s)"]], f"row {row}: the start the table shows"
    with pytest.raises(InputError, match=f"results table: no row {len(rows)} \\(it has {len(rows)} rows\\)"):
        session.playback(results, len(rows))


def test_player_seeks_its_file_to_the_start_and_escapes_the_caption():
    playback = Playback("v<1>", 'he says "hi" & <b>leaves</b>', 12.34567, 20.0, Path("/data/my videos/v<1>.mp4"))
    markup = app_module.player_html(playback)
    source = f"gradio_api/file={quote('/data/my videos/v<1>.mp4')}#t=12.346"
    assert f'<video id="player-video" src="{source}" controls' in markup
    assert "&lt;b&gt;leaves&lt;/b&gt;" in markup and "<b>" not in markup, "the sentence is text, not markup"
    assert "12.35-20.00 s" in markup


def test_no_file_gives_the_note_and_no_search_gives_nothing():
    note = app_module.player_html(Playback("v1", "a sentence.", 1.0, 2.0, None))
    assert note.startswith('<p id="player-note">') and "dmr-jrg index --videos DIR" in note and "<video" not in note
    assert app_module.player_html(None) == ""


def test_clicked_row_handler_returns_the_player_of_that_row(session):
    gr = pytest.importorskip("gradio", reason="the app extra (gradio) is not installed")
    handlers = app_module._Handlers(gr, session)
    *_, player, state = handlers.search(session.example, 3)
    sentences, results = state
    assert player == app_module.player_html(session.playback(results, 0)), "a search shows the first row"
    row = len(sentences) + 1  # second video, second sentence
    update, timeline, _, player = handlers.select_row([row, 4], state)
    playback = session.playback(results, row)
    assert update["value"] == playback.video_id == results[1].hit.video_id
    assert player == app_module.player_html(playback) and f"#t={playback.start:.3f}" in player
    assert playback.video_id in timeline.axes[0].get_title()
    *_, player = handlers.select_video(results[2].hit.video_id, state)
    assert player == app_module.player_html(session.playback(results, 2 * len(sentences))), "its first sentence"
