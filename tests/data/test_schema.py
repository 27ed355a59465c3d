"""Defect policy and preparation report (dmr_jrg_hf.data.schema): one case per reason, structural errors, outputs."""

from __future__ import annotations

import json

import pytest

from dmr_jrg_hf.data.schema import (
    DefectPolicy,
    PreparationReport,
    RawParagraph,
    clean_paragraph,
    paragraph_features,
    paragraph_statistics,
)
from dmr_jrg_hf.errors import DataFormatError


def _paragraph(timestamps, sentences=None, duration=10.0):
    sentences = sentences if sentences is not None else [f"sentence {i}" for i in range(len(timestamps))]
    return RawParagraph("p", "v", duration, sentences, timestamps, source="file.json")


def _clean(paragraph, **policy):
    report = PreparationReport("test")
    row = clean_paragraph(paragraph, "train", DefectPolicy(**policy), report)
    return row, report


@pytest.mark.parametrize(
    "moment, expected, reasons",
    [
        ([2.0, 4.0], [2.0, 4.0], []),
        ([4.0, 2.0], [2.0, 4.0], ["inverted_moment"]),
        ([-1.0, 2.0], [0.0, 2.0], ["negative_start"]),
        ([8.0, 12.5], [8.0, 10.0], ["end_after_duration"]),
        ([8.0, 10.0 + 1e-9], [8.0, 10.0], []),
        ([3.0, 3.0], [2.5, 3.5], ["zero_length_moment"]),
        ([0.0, 0.0], [0.0, 1.0], ["zero_length_moment"]),
        ([10.0, 10.0], [9.0, 10.0], ["clamped_outside_moment"]),
        ([13.0, 12.0], [9.0, 10.0], ["inverted_moment", "clamped_outside_moment"]),
        ([12.0, 9.0], [9.0, 10.0], ["inverted_moment", "end_after_duration"]),
    ],
)
def test_each_moment_defect_is_repaired_and_counted(moment, expected, reasons):
    row, report = _clean(_paragraph([moment]))
    assert row["timestamps"] == [pytest.approx(expected)], f"{moment} -> {row['timestamps']}"
    assert [item["reason"] for item in report.items] == reasons, f"{moment}: reasons"
    assert all(item["action"] == "repaired" and item["sentence_index"] == 0 for item in report.items)


def test_outside_moment_drop_policy_drops_the_sentence_only():
    row, report = _clean(_paragraph([[1.0, 2.0], [11.0, 12.0]]), outside_moment="drop")
    assert row["sentences"] == ["sentence 0"] and row["timestamps"] == [[1.0, 2.0]]
    assert report.count("dropped_outside_moment") == 1 and report.items[0]["action"] == "skipped"


def test_empty_sentences_and_empty_paragraphs_are_skipped_and_counted():
    row, report = _clean(_paragraph([[1.0, 2.0], [3.0, 4.0]], sentences=["  keep me ", "   "]))
    assert row["sentences"] == ["keep me"], "sentences are stripped, empty ones dropped"
    assert report.counts() == {"train": {"empty_sentence": 1}}
    row, report = _clean(_paragraph([[1.0, 2.0]], sentences=[""]))
    assert row is None, "a paragraph without sentences is dropped"
    assert report.count("empty_paragraph") == 1 and report.count("empty_sentence") == 1


def test_zero_length_in_a_short_video_covers_the_video():
    row, report = _clean(_paragraph([[0.2, 0.2]], duration=0.5))
    assert row["timestamps"] == [[0.0, 0.5]] and report.count("zero_length_moment") == 1


@pytest.mark.parametrize(
    "paragraph, message",
    [
        (_paragraph([[1.0, 2.0]], duration=0.0), "expected a positive duration, got 0.0"),
        (_paragraph([[1.0, 2.0]], duration=float("nan")), "expected a finite duration"),
        (_paragraph([[1.0, 2.0]], duration="12"), "expected a finite duration"),
        (_paragraph([[1.0, 2.0]], sentences=["a", "b"]), "2 sentences but 1 timestamps"),
        (_paragraph([[1.0]]), r"sentence 0: expected \[start, end\]"),
        (_paragraph([[1.0, "x"]]), r"sentence 0: expected \[start, end\]"),
        (_paragraph([[1.0, float("inf")]]), r"sentence 0: expected \[start, end\] finite"),
        (_paragraph([[1.0, 2.0]], sentences=[3]), "sentence 0: expected a string"),
        (RawParagraph("p", "v", 5.0, "a sentence", [[1.0, 2.0]], "file.json"), "expected a list of sentences"),
    ],
)
def test_structural_defects_raise_naming_the_video_and_file(paragraph, message):
    with pytest.raises(DataFormatError, match=rf"video 'v' in file\.json.*{message}"):
        _clean(paragraph)


def test_policy_values_are_validated():
    with pytest.raises(DataFormatError, match="zero_length_width"):
        DefectPolicy(zero_length_width=0.0)
    with pytest.raises(DataFormatError, match=r"outside_moment must be one of \('clamp', 'drop'\)"):
        DefectPolicy(outside_moment="ignore")


def test_report_outputs(tmp_path):
    report = PreparationReport("test", max_examples=1)
    for moment in ([4.0, 2.0], [5.0, 3.0], [3.0, 3.0]):
        clean_paragraph(_paragraph([moment]), "train", DefectPolicy(), report)
    clean_paragraph(_paragraph([[9.0, 11.0]]), "test", DefectPolicy(), report)
    report.statistics["train"] = paragraph_statistics([{"video_id": "v", "duration": 10.0, "sentences": ["a"]}])
    assert report.counts() == {
        "train": {"inverted_moment": 2, "zero_length_moment": 1},
        "test": {"end_after_duration": 1},
    }
    data = json.loads(report.to_json(tmp_path / "report.json").read_text())
    assert data["totals"] == {"end_after_duration": 1, "inverted_moment": 2, "zero_length_moment": 1}
    assert len(data["examples"]["inverted_moment"]) == 1, "examples are capped at max_examples"
    lines = report.write_jsonl(tmp_path / "skipped.jsonl").read_text().splitlines()
    assert len(lines) == 4 and json.loads(lines[0])["detail"] == "[4.0, 2.0] swapped"
    summary = report.summary()
    assert "train: repaired 2 x inverted_moment" in summary and "1 paragraphs, 1 sentences" in summary
    with pytest.raises(ValueError, match="unknown report reason"):
        report.add("train", "typo", paragraph_id="p", video_id="v", detail="", source="")


def test_paragraph_features_schema():
    assert list(paragraph_features()) == ["paragraph_id", "video_id", "duration", "sentences", "timestamps"]
    embedded = paragraph_features(12)
    assert embedded["video_features"].shape == (None, 12) and embedded["video_features"].dtype == "float32"
