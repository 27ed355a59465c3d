"""End to end: the app on a loopback port, driven by headless Debian Chromium through Playwright.

The browser types a paragraph, runs the search and reads the results table back from the page; the rows must be what
`retrieve_and_ground` answers for the same model and index. The three plots must render as images, a table click
must switch the plotted video, an empty paragraph must show its message (no traceback), and no request may leave
127.0.0.1. A full-page screenshot is written to the test's tmp dir and copied to ``outputs/app_screenshot.png``.

Needs ``/usr/bin/chromium`` (``apt-get install chromium``; ``.ci/run`` installs it): skipped without it, except under
CI (``CI`` set), where a missing browser fails the test. Playwright never downloads a browser here.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from chromium import free_port, launch_chromium, require_chromium

from dmr_jrg_hf.apps.app import ERROR_PREFIX, launch
from dmr_jrg_hf.apps.session import RESULT_COLUMNS, paragraph_text
from dmr_jrg_hf.inference import VideoCorpusIndex, retrieve_and_ground, split_sentences
from dmr_jrg_hf.modeling_dmr_jrg import DMRJRGModel
from dmr_jrg_hf.processing_dmr_jrg import DMRJRGProcessor

pytestmark = pytest.mark.slow  # end to end: `make test` runs it, `make test-fast` does not

REPO = Path(__file__).resolve().parents[2]
TOP_K = 3

sync_api = require_chromium()


@pytest.fixture(scope="module")
def app_url(app_folders):
    port = free_port()
    app = launch(
        app_folders.model_dir, app_folders.index_dir, port=port, top_k=5, example=app_folders.example, block=False
    )
    yield f"http://127.0.0.1:{port}/"
    app.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with sync_api.sync_playwright() as playwright:
        context = launch_chromium(playwright, tmp_path_factory.mktemp("chromium-profile"))
        yield context
        context.close()


@pytest.fixture
def page(browser, app_url):
    """A fresh tab on the app; ``page.requested`` lists every URL the page asked for (sockets included)."""
    page = browser.new_page()
    page.set_default_timeout(60_000)
    page.requested = []
    page.on("request", lambda request: page.requested.append(request.url))
    page.on("websocket", lambda websocket: page.requested.append(websocket.url))
    page.goto(app_url)
    page.locator("#paragraph textarea").wait_for()
    yield page
    page.close()


def _assert_loopback_only(page, app_url: str) -> None:
    origin = urlsplit(app_url).netloc
    outside = [
        url
        for url in page.requested
        if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).netloc != origin
    ]
    assert page.requested and not outside, f"requests leaving {origin}: {outside[:5]}"


def _search(page, paragraph: str, top_k: int | None = None) -> None:
    page.locator("#paragraph textarea").fill(paragraph)
    if top_k is not None:
        page.locator("#top-k input[type=number]").fill(str(top_k))
        page.locator("#top-k input[type=number]").press("Enter")
    page.locator("#search").click()


def _table_rows(page) -> list[list[str]]:
    """The data rows of the results table as displayed (header row excluded)."""
    return page.eval_on_selector_all(
        "#results [role=row]",
        "rows => rows.map(row => [...row.querySelectorAll('[role=gridcell]')].map(cell => cell.innerText.trim()))"
        ".filter(cells => cells.length > 0)",
    )


def _image_widths(page, element_id: str) -> list[int]:
    return page.eval_on_selector_all(f"#{element_id} img", "images => images.map(image => image.naturalWidth)")


def _expected_rows(app_folders, sentences: list[str]) -> list[list]:
    model = DMRJRGModel.from_pretrained(app_folders.model_dir).eval()
    processor = DMRJRGProcessor.from_pretrained(app_folders.model_dir)
    index = VideoCorpusIndex.load(app_folders.index_dir)
    rows = []
    for result in retrieve_and_ground(model, processor, sentences, index, top_k=TOP_K):
        for number, grounding in enumerate(result.sentences, start=1):
            top = grounding.moments[0]
            hit = result.hit
            rows.append([hit.rank, hit.video_id, round(hit.score, 3), number, grounding.sentence])
            rows[-1] += [round(top.start, 2), round(top.end, 2), round(top.score, 3)]
    return rows


def _parsed(cells: list[str]) -> list:
    types = (int, str, float, int, str, float, float, float)
    assert len(cells) == len(RESULT_COLUMNS) == len(types), cells
    return [kind(cell) for kind, cell in zip(types, cells, strict=True)]


def test_search_in_the_browser(page, app_url, app_folders, tmp_path):
    assert page.locator("#paragraph textarea").input_value() == app_folders.example, "example prefilled"
    sentences = split_sentences(paragraph_text(app_folders.corpus.paragraphs["test"][1]["sentences"]))
    _search(page, paragraph_text(sentences), top_k=TOP_K)
    sync_api.expect(page.locator("#status")).to_contain_text(f"Top {TOP_K} of 8 videos", timeout=60_000)
    page.wait_for_function(
        "count => document.querySelectorAll('#results [role=gridcell]').length === count",
        arg=TOP_K * len(sentences) * len(RESULT_COLUMNS),
    )

    expected = _expected_rows(app_folders, sentences)
    shown = [_parsed(cells) for cells in _table_rows(page)]
    assert shown == expected, "table rows differ from retrieve_and_ground"

    for element_id in ("retrieval-plot", "timeline", "score-maps"):
        page.wait_for_function(
            f"() => [...document.querySelectorAll('#{element_id} img')].some(i => i.naturalWidth > 0)"
        )
        assert max(_image_widths(page, element_id)) > 0, f"{element_id} renders as an image"
    assert page.locator("#video input").input_value() == expected[0][1], "plots show the best video"
    sync_api.expect(page.locator("#player-note")).to_contain_text("No player: this index records no video files")
    assert page.locator("#player video").count() == 0, "an index of features: the note, no player"

    screenshot = page.screenshot(path=tmp_path / "app_screenshot.png", full_page=True)
    assert len(screenshot) > 10_000, "a real page screenshot"
    (REPO / "outputs").mkdir(exist_ok=True)
    shutil.copyfile(tmp_path / "app_screenshot.png", REPO / "outputs" / "app_screenshot.png")
    print(f"screenshot: {tmp_path / 'app_screenshot.png'} (copied to {REPO / 'outputs' / 'app_screenshot.png'})")

    timeline_before = page.locator("#timeline img").get_attribute("src")
    second_video = expected[len(sentences)][1]
    page.locator("#results [role=row]").filter(has_text=second_video).first.locator("[role=gridcell]").nth(1).click()
    sync_api.expect(page.locator("#video input")).to_have_value(second_video)
    page.wait_for_function(
        "before => { const i = document.querySelector('#timeline img'); return i && i.src !== before; }",
        arg=timeline_before,
    )
    _assert_loopback_only(page, app_url)


def test_bad_paragraphs_show_their_message_not_a_traceback(page, app_url):
    _search(page, "")
    sync_api.expect(page.locator("#status")).to_contain_text(f"{ERROR_PREFIX} the paragraph is empty")
    assert _table_rows(page) == [], "no stale results"
    _search(page, "zzyzx qwfp. the person opens the box.")
    sync_api.expect(page.locator("#status")).to_contain_text("('zzyzx qwfp.') has no word in the vocabulary")
    body = page.locator("body").inner_text()
    assert "Traceback" not in body and 'File "' not in body, "no stack trace on the page"
    _assert_loopback_only(page, app_url)
