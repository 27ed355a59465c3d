"""End to end: the app plays the selected moment of videos indexed from files, in headless Debian Chromium.

Two short VP9/WebM videos are written with PyAV, indexed through ``dmr-jrg index --videos`` with a tiny random CLIP
vision encoder and an untrained tiny model, and served by the app. The browser searches, clicks a results row, and
the page's ``<video>`` must show that row's video seeked to within one frame of the predicted start of the row's
moment and then play (``paused`` false, ``readyState >= 2``, time advancing). The server must serve the indexed video
files and no other local file, and no request may leave 127.0.0.1.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from chromium import free_port, launch_chromium, require_chromium
from video_helpers import save_tiny_clip_encoder, write_video

from dmr_jrg_hf.apps.app import launch
from dmr_jrg_hf.cli import main
from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
from dmr_jrg_hf.inference import DMRJRGPredictor, split_sentences
from dmr_jrg_hf.model_builder import build_model_and_processor

pytestmark = pytest.mark.slow  # end to end: `make test` runs it, `make test-fast` does not

sync_api = require_chromium()

FRAME_RATE = 10  # frames per second of the generated videos: one frame = 0.1 s
VIDEOS = {"kitchen": 60, "garden": 50}  # frames: 6 s and 5 s
SENTENCES = ["a person opens a door.", "a person sits down on a chair.", "the person walks out."]


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    """Videos, a model trained on nothing that records the tiny encoder at 2 rows/s, and the index of the videos."""
    root = tmp_path_factory.mktemp("playback")
    videos = root / "videos"
    videos.mkdir()
    for name, num_frames in VIDEOS.items():
        write_video(videos / f"{name}.webm", num_frames, rate=FRAME_RATE, codec="libvpx-vp9")
    encoder = save_tiny_clip_encoder(root / "tiny-clip")
    spec = {"name": "tiny-clip", "encoder": str(encoder), "rate_per_second": 2.0, "feature_dim": 16}
    config = DMRJRGConfig.from_preset("tiny", feature_dim=16)
    model, processor = build_model_and_processor(config, [{"sentences": SENTENCES}], video_feature_spec=spec)
    model.save_pretrained(root / "model")
    processor.save_pretrained(root / "model")
    index = root / "index"
    arguments = ["index", "--model", str(root / "model"), "--videos", str(videos), "--output-dir", str(index), "-q"]
    assert main(arguments) == 0, "dmr-jrg index --videos"
    return {"videos": videos, "model": root / "model", "index": index}


@pytest.fixture(scope="module")
def app_url(folders):
    port = free_port()
    app = launch(folders["model"], folders["index"], port=port, top_k=2, example=" ".join(SENTENCES), block=False)
    yield f"http://127.0.0.1:{port}/"
    app.close()


@pytest.fixture(scope="module")
def page(tmp_path_factory, app_url):
    with sync_api.sync_playwright() as playwright:
        context = launch_chromium(playwright, tmp_path_factory.mktemp("chromium-profile"))
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.requested = []
        page.on("request", lambda request: page.requested.append(request.url))
        page.goto(app_url)
        page.locator("#paragraph textarea").wait_for()
        yield page
        context.close()


def _chosen_row(results) -> tuple[int, object, float]:
    """(row, result, start) of the row whose moment starts latest while leaving a second to play (row 0 if none)."""
    rows = [(result, grounding.moments[0].start) for result in results for grounding in result.sentences]
    playable = [(row, start) for row, (result, start) in enumerate(rows) if start <= result.duration - 1.0]
    row = max(playable, key=lambda pair: pair[1])[0] if playable else 0
    return row, rows[row][0], rows[row][1]


def test_clicked_row_plays_from_its_predicted_start(page, app_url, folders):
    predictor = DMRJRGPredictor.from_pretrained(folders["model"], folders["index"])
    results = predictor.retrieve_and_ground(split_sentences(" ".join(SENTENCES)), top_k=2)
    row, result, start = _chosen_row(results)

    page.locator("#search").click()
    page.wait_for_function(
        "count => document.querySelectorAll('#results [role=row]').length === count + 1", arg=2 * len(SENTENCES)
    )
    page.locator("#results [role=row]").nth(row + 1).locator("[role=gridcell]").nth(4).click()
    video_file = folders["videos"] / f"{result.hit.video_id}.webm"
    player = page.locator("#player-video")
    sync_api.expect(player).to_have_attribute(
        "src", f"gradio_api/file={quote(str(video_file.resolve()))}#t={start:.3f}"
    )
    page.wait_for_function("() => document.querySelector('#player-video').readyState >= 1")
    current = player.evaluate("video => video.currentTime")
    assert abs(current - start) <= 1 / FRAME_RATE, f"row {row}: player at {current} s, predicted start {start} s"

    player.evaluate("video => { video.muted = true; return video.play(); }")  # muted: no autoplay gesture needed
    page.wait_for_function(
        "start => { const v = document.querySelector('#player-video'); "
        "return !v.paused && v.readyState >= 2 && v.currentTime > start + 0.2; }",
        arg=start,
    )
    state = player.evaluate("v => ({paused: v.paused, readyState: v.readyState, error: v.error && v.error.code})")
    assert state["paused"] is False and state["readyState"] >= 2 and state["error"] is None, state
    assert result.hit.video_id in page.locator("#player-caption").inner_text()

    origin = urlsplit(app_url).netloc
    outside = [url for url in page.requested if urlsplit(url).scheme not in ("data", "blob", "")]
    assert all(urlsplit(url).netloc == origin for url in outside), f"requests leaving {origin}"


def test_only_the_indexed_video_files_are_served(page, app_url, folders):
    video = (folders["videos"] / "garden.webm").resolve()
    assert page.request.get(f"{app_url}gradio_api/file={quote(str(video))}").status == 200
    for other in (folders["index"] / "index.json", folders["model"] / "config.json"):
        response = page.request.get(f"{app_url}gradio_api/file={quote(str(other.resolve()))}")
        assert response.status in (403, 404), f"{other.name} must not be served, got {response.status}"
