"""What the paragraph-search app serves: a predictor (model, processor, corpus index) and what the page knows about it.

`SearchSession` holds a `DMRJRGPredictor`; `SearchSession.search` runs its `retrieve_and_ground` (VPCMR retrieval,
Eq. 1, then VTC-LD grounding, Eq. 8-10). With no model folder
the session loads the demo model (``outputs/demo``, written by ``make demo``); with no index folder it indexes the test
split of the synthetic benchmark the demo was trained on and knows that split's ground truth, so the plots can show the
true moments next to the predicted ones. An index built from video files names each video's file:
`SearchSession.playback` maps a row of the results table to that file and the predicted start of the row's moment,
which the page plays.
Gradio-free: the UI lives in `dmr_jrg_hf.apps.app`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..inference import DMRJRGPredictor, split_sentences
from ..results import ParagraphResult
from ..tokenization_dmr_jrg import tokenize

__all__ = ["DEFAULT_MODEL_DIR", "RESULT_COLUMNS", "Playback", "SearchSession", "paragraph_text", "result_rows"]

logger = logging.getLogger(__name__)

DEFAULT_MODEL_DIR = Path("outputs/demo")
RESULT_COLUMNS = ("rank", "video", "video score", "#", "sentence", "start (s)", "end (s)", "moment score")
_TruthKey = tuple[tuple[str, ...], ...]


def paragraph_text(sentences: Sequence[str]) -> str:
    """Sentences -> one paragraph string that `split_sentences` splits back into the same sentences."""
    return " ".join(sentence if sentence.rstrip()[-1:] in ".!?" else f"{sentence}." for sentence in sentences)


def _truth_key(sentences: Sequence[str]) -> _TruthKey:
    """Sentences compared by their words, so punctuation and case do not matter."""
    return tuple(tuple(tokenize(sentence)) for sentence in sentences)


def result_rows(results: Sequence[ParagraphResult]) -> list[list]:
    """One table row per (retrieved video, sentence) with its top moment, columns `RESULT_COLUMNS`.

    Scores are rounded to 3 decimals and seconds to 2.
    """
    rows = []
    for result in results:
        for number, grounding in enumerate(result.sentences, start=1):
            moment = grounding.moments[0]
            rows.append(
                [
                    result.hit.rank,
                    result.hit.video_id,
                    round(result.hit.score, 3),
                    number,
                    grounding.sentence,
                    round(moment.start, 2),
                    round(moment.end, 2),
                    round(moment.score, 3),
                ]
            )
    return rows


@dataclass(frozen=True)
class Playback:
    """The moment of one results-table row, as the page's player shows it.

    Args:
        video_id (str): the row's video.
        sentence (str): the row's sentence.
        start (float): predicted start of the sentence's top moment, seconds.
        end (float): its predicted end, seconds.
        video_file (Path, optional): the video's file; None when the index records none (built from features).
    """

    video_id: str
    sentence: str
    start: float
    end: float
    video_file: Path | None = None


def _check_demo_model(model_dir: str | Path) -> None:
    """A missing demo folder says how to make it."""
    folder = Path(model_dir)
    if folder == DEFAULT_MODEL_DIR and not (folder / "config.json").is_file():
        raise InputError(
            f"no demo model in {folder} (config.json missing): run `make demo` (or `dmr-jrg demo`), which trains "
            "the demo model there in a few CPU minutes, or pass a trained model folder with --model DIR"
        )


def _benchmark_seed(model_dir: str | Path) -> int:
    """Seed of the synthetic benchmark a demo folder was trained on (``results.json``), else 0."""
    results = Path(model_dir) / "results.json"
    if not results.is_file():
        return 0
    return int(json.loads(results.read_text(encoding="utf-8")).get("benchmark", {}).get("seed", 0))


@dataclass
class SearchSession:
    """A predictor with its corpus index, ready to answer the page's paragraph queries.

    Args:
        predictor (DMRJRGPredictor): model (eval mode), processor and an index built with this model and with clip
            features (needed for grounding).
        example (str): paragraph shown when the app opens.
        description (str): one line naming the model and the corpus.
        ground_truth (dict): ``{sentence words: (video_id, [[start, end], ...])}`` of known paragraphs (the
            synthetic test split); empty for a user's corpus.

    Example:
        >>> session = SearchSession.load("outputs/demo")  # doctest: +SKIP
        >>> sentences, results = session.search(session.example, top_k=3)  # doctest: +SKIP
    """

    predictor: DMRJRGPredictor
    example: str = ""
    description: str = ""
    ground_truth: dict[_TruthKey, tuple[str, list[list[float]]]] = field(default_factory=dict)

    @classmethod
    def load(
        cls, model_dir: str | Path | None = None, index_dir: str | Path | None = None, example: str | None = None
    ) -> SearchSession:
        """Load a model folder and an index folder written by `VideoCorpusIndex.save` (``dmr-jrg index``).

        Args:
            model_dir (str or Path, optional): model folder or Hub id; default ``outputs/demo`` (``make demo``).
            index_dir (str or Path, optional): index folder; default: index the synthetic benchmark's test split
                (seed from the model folder's ``results.json``) with this model, which also prefills the example
                and the ground truth.
            example (str, optional): paragraph shown when the app opens (default: the first synthetic test
                paragraph when no index is given, else empty).

        Raises:
            InputError: no demo model, a folder that is not a model, an index built with another model.
        """
        model_dir = DEFAULT_MODEL_DIR if model_dir is None else model_dir
        _check_demo_model(model_dir)
        predictor = DMRJRGPredictor.from_pretrained(model_dir, index_dir)
        if index_dir is not None:
            description = f"model `{model_dir}`, index `{index_dir}` ({len(predictor.corpus)} videos)"
            return cls(predictor, example or "", description)
        return cls._with_synthetic_corpus(predictor, model_dir, example)

    @classmethod
    def _with_synthetic_corpus(
        cls, predictor: DMRJRGPredictor, model_dir: str | Path, example: str | None
    ) -> SearchSession:
        from ..data.synthetic import generate_synthetic_benchmark

        seed = _benchmark_seed(model_dir)
        logger.info("indexing the synthetic benchmark's test split (seed %d)", seed)
        benchmark = generate_synthetic_benchmark(seed=seed)
        rows = benchmark.paragraphs["test"]
        durations = {row["video_id"]: row["duration"] for row in rows}
        features = {video_id: benchmark.features[video_id] for video_id in durations}
        index = predictor.index_videos(features, durations, show_progress=False)
        truth = {_truth_key(row["sentences"]): (row["video_id"], row["timestamps"]) for row in rows}
        description = f"model `{model_dir}`, synthetic test corpus (seed {seed}, {len(index)} videos)"
        return cls(predictor, example or paragraph_text(rows[0]["sentences"]), description, truth)

    def search(self, paragraph: str, top_k: int) -> tuple[list[str], list[ParagraphResult]]:
        """Split the paragraph into sentences, retrieve the top-k videos and ground every sentence in each.

        Raises:
            InputError: an empty paragraph, or a sentence with no word in the vocabulary (named by the processor).
        """
        sentences = split_sentences(paragraph or "")
        if not sentences:
            raise InputError("the paragraph is empty: type at least one sentence")
        return sentences, self.predictor.retrieve_and_ground(sentences, top_k=int(top_k))

    def playback(self, results: Sequence[ParagraphResult], row: int) -> Playback:
        """The video file and predicted moment of row ``row`` of `result_rows` ``(results)`` (one row per retrieved
        video and sentence, in that order), unrounded.

        Raises:
            InputError: ``row`` is not a row of the table.
        """
        pairs = [(result, grounding) for result in results for grounding in result.sentences]
        if not 0 <= row < len(pairs):
            raise InputError(f"results table: no row {row} (it has {len(pairs)} rows)")
        result, grounding = pairs[row]
        moment = grounding.moments[0]
        video_file = self.predictor.corpus.video_file(result.hit.video_id)
        return Playback(result.hit.video_id, grounding.sentence, moment.start, moment.end, video_file)

    def video_files(self) -> list[Path]:
        """Every video file the index names (the only files the app serves)."""
        return [Path(path) for path in self.predictor.corpus.video_files.values()]

    def true_video(self, sentences: Sequence[str]) -> str | None:
        """The video of a known paragraph (the synthetic test split), else None."""
        return self.ground_truth.get(_truth_key(sentences), (None, None))[0]

    def true_moments(self, sentences: Sequence[str], video_id: str) -> list[list[float]] | None:
        """The true ``[start, end]`` of every sentence when the paragraph is a known one and ``video_id`` its video."""
        video, moments = self.ground_truth.get(_truth_key(sentences), (None, None))
        return moments if video == video_id else None
