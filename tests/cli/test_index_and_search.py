"""`dmr-jrg index` and `dmr-jrg search` on a saved tiny model and a folder of npy features."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dmr_jrg_hf.cli import main
from dmr_jrg_hf.inference import VideoCorpusIndex


def test_index_then_search(model_and_processor, corpus, test_features, tmp_path, capsys):
    model, processor = model_and_processor
    model.save_pretrained(tmp_path / "model")
    processor.save_pretrained(tmp_path / "model")
    features = tmp_path / "features"
    features.mkdir()
    for video_id, array in test_features.items():
        np.save(features / f"{video_id}.npy", array)
    index_dir = tmp_path / "index"
    assert (
        main(
            [
                "index",
                "--model",
                str(tmp_path / "model"),
                "--features",
                str(features),
                "--output-dir",
                str(index_dir),
                "-q",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["videos"] == len(test_features)
    assert len(VideoCorpusIndex.load(index_dir)) == len(test_features)

    paragraph = " ".join(sentence + "." for sentence in corpus.paragraphs["test"][0]["sentences"])
    base = ["search", "--model", str(tmp_path / "model"), "--index", str(index_dir), "--top-k", "3"]
    assert main([*base, "--json", paragraph]) == 0
    payload = json.loads(capsys.readouterr().out)["queries"][0]
    assert [r["rank"] for r in payload["results"]] == [1, 2, 3], "three ranked videos"
    assert len(payload["results"][0]["sentences"]) == len(corpus.paragraphs["test"][0]["sentences"])
    assert main([*base, paragraph]) == 0
    table = capsys.readouterr().out
    assert "paragraph 1:" in table and payload["results"][0]["video_id"] in table, "table names the best video"


def test_search_reports_a_bad_index_folder(model_and_processor, tmp_path, capsys):
    model, processor = model_and_processor
    model.save_pretrained(tmp_path / "model")
    processor.save_pretrained(tmp_path / "model")
    code = main(["search", "--model", str(tmp_path / "model"), "--index", str(tmp_path), "a man opens the door."])
    assert code == 1 and "not a VideoCorpusIndex folder" in capsys.readouterr().err


@pytest.mark.slow
def test_search_saves_plots(model_and_processor, test_features, tmp_path, capsys):
    model, processor = model_and_processor
    model.save_pretrained(tmp_path / "model")
    processor.save_pretrained(tmp_path / "model")
    VideoCorpusIndex.build(model, processor, test_features, show_progress=False).save(tmp_path / "index")
    base = ["search", "--model", str(tmp_path / "model"), "--index", str(tmp_path / "index"), "--top-k", "2", "-q"]
    plots = tmp_path / "plots"
    assert main([*base, "--plot", str(plots), "the man opens the box. the man holds the cup."]) == 0
    expected = {plots / f"{name}.png" for name in ("retrieval", "timeline", "score_maps")}
    assert {path for path in plots.iterdir()} == expected
    err = capsys.readouterr().err
    assert all(f"wrote {path}" in err for path in expected), "every plot path printed"
    assert (
        main([*base, "--plot", str(plots), "--plot-format", "svg", "the man opens the box.", "the man holds the cup."])
        == 0
    )
    assert {p.name for p in plots.glob("paragraph2_*.svg")} == {
        "paragraph2_retrieval.svg",
        "paragraph2_timeline.svg",
        "paragraph2_score_maps.svg",
    }
    assert main([*base, "--plot", str(plots), "--no-ground", "the man opens the box."]) == 1
    assert "--no-ground" in capsys.readouterr().err
