"""The Gradio app without a browser: the Blocks it builds, its event handlers and the `dmr-jrg app` command."""

from __future__ import annotations

import pytest

from dmr_jrg_hf.apps import app as app_module
from dmr_jrg_hf.apps.session import SearchSession, paragraph_text, result_rows
from dmr_jrg_hf.cli import main
from dmr_jrg_hf.data import synthetic

pytestmark = pytest.mark.slow  # end to end: `make test` runs it, `make test-fast` does not

gr = pytest.importorskip("gradio", reason="the app extra (gradio) is not installed")


@pytest.fixture(scope="module")
def session(app_folders) -> SearchSession:
    return SearchSession.load(app_folders.model_dir, app_folders.index_dir, example=app_folders.example)


@pytest.fixture(scope="module")
def handlers(session):
    return app_module._Handlers(gr, session)


def test_build_app_is_offline_blocks_with_the_example(session, app_folders):
    blocks = app_module.build_app(session=session, top_k=3)
    assert isinstance(blocks, gr.Blocks)
    assert blocks.analytics_enabled is False
    paragraph = next(block for block in blocks.blocks.values() if getattr(block, "elem_id", None) == "paragraph")
    assert paragraph.value == app_folders.example
    slider = next(block for block in blocks.blocks.values() if getattr(block, "elem_id", None) == "top-k")
    assert (slider.value, slider.maximum) == (3, len(session.predictor.corpus)), "top-k capped at the corpus size"


def test_offline_theme_loads_no_font_files():
    theme = app_module._offline_theme(gr)
    assert theme._stylesheets == [], "no font stylesheet to download"
    assert "@font-face" not in theme._get_theme_css()


def test_search_handler_fills_table_list_and_plots(handlers, session, app_folders):
    status, rows, videos, retrieval, timeline, score_maps, player, state = handlers.search(app_folders.example, 3)
    sentences, results = session.search(app_folders.example, 3)
    assert rows == result_rows(results) and status.startswith("Top 3 of 8 videos")
    assert videos["choices"] == [result.hit.video_id for result in results]
    assert videos["value"] == results[0].hit.video_id
    assert len(score_maps.axes) >= len(sentences), "one score-map panel per sentence (+ colour bar)"
    assert timeline.axes and retrieval.axes
    assert player == app_module.player_html(session.playback(results, 0)), "an index of features: the note"
    assert app_module.NO_VIDEO_FILES_NOTE.split(":")[0] in player
    assert state == (sentences, results)


def test_error_goes_to_the_status_box_and_clears_outputs(handlers):
    with pytest.warns(UserWarning, match="the paragraph is empty"):
        status, rows, videos, *plots, player, state = handlers.search("", 3)
    assert status.startswith(f"**{app_module.ERROR_PREFIX}** the paragraph is empty")
    assert rows == [] and videos["choices"] == [] and plots == [None, None, None] and state is None
    assert player == "", "no stale player"


def test_clicking_a_row_selects_its_video(handlers, app_folders):
    *_, state = handlers.search(app_folders.example, 3)
    sentences, results = state
    row_of_second_video = len(sentences)  # rows are grouped by video, one per sentence
    update, timeline, score_maps, _ = handlers.select_row([row_of_second_video, 4], state)
    assert update["value"] == results[1].hit.video_id
    assert results[1].hit.video_id in timeline.axes[0].get_title()


def test_cli_app_passes_its_flags(monkeypatch, app_folders):
    calls = []
    monkeypatch.setattr(app_module, "launch", lambda **kwargs: calls.append(kwargs))
    argv = ["app", "--model", str(app_folders.model_dir), "--index", str(app_folders.index_dir), "--port", "7999"]
    assert main([*argv, "--top-k", "4"]) == 0
    assert calls == [
        {
            "model_dir": str(app_folders.model_dir),
            "index_dir": str(app_folders.index_dir),
            "host": "127.0.0.1",
            "port": 7999,
            "top_k": 4,
            "example": None,
        }
    ]


def test_cli_app_without_demo_model_explains(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["app"]) == 1
    assert "dmr-jrg app: error: no demo model in outputs/demo" in capsys.readouterr().err


def _gids(figure) -> list[str]:
    return [artist.get_gid() for axes in figure.axes for artist in axes.patches if artist.get_gid()]


def test_known_paragraph_shows_its_true_video_and_moments(app_folders, monkeypatch):
    """Default corpus (the synthetic test split): the true video is named and its true moments are drawn."""
    monkeypatch.setattr(synthetic, "generate_synthetic_benchmark", lambda seed: app_folders.corpus)
    session = SearchSession.load(app_folders.model_dir)
    handlers = app_module._Handlers(gr, session)
    row = app_folders.corpus.paragraphs["test"][2]
    status, *_, state = handlers.search(paragraph_text(row["sentences"]), 8)
    assert f"Ground-truth video `{row['video_id']}`: rank" in status
    timeline, score_maps, _ = handlers.select_video(row["video_id"], state)
    count = len(row["sentences"])
    assert sorted(g for g in _gids(timeline) if g.startswith("truth:")) == [f"truth:{m}" for m in range(count)]
    assert _gids(score_maps).count("truth") == count and _gids(score_maps).count("predicted") == count
    other = next(result.hit.video_id for result in state[1] if result.hit.video_id != row["video_id"])
    timeline, score_maps, _ = handlers.select_video(other, state)
    assert "truth" not in _gids(score_maps) and not any(g.startswith("truth:") for g in _gids(timeline))
