"""`DMRJRGPredictor`: a trained model, its processor and a corpus index in one object that answers paragraph queries.

Each method is the function of the same name in `dmr_jrg_hf.inference.search` with the model, the processor and the
index as the predictor's state: retrieval by VPCMR (Eq. 1), grounding by the VTC-LD score maps (Eq. 8-10).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError
from ..results import ParagraphResult, RetrievalHit, SentenceGrounding
from . import search
from .index import VideoCorpusIndex

if TYPE_CHECKING:
    from ..modeling_dmr_jrg import DMRJRGModel
    from ..processing_dmr_jrg import DMRJRGProcessor

__all__ = ["DMRJRGPredictor"]


@dataclass
class DMRJRGPredictor:
    """A model (eval mode), its processor and optionally the corpus index built with it.

    Args:
        model (DMRJRGModel): the trained model.
        processor (DMRJRGProcessor): its processor.
        index (VideoCorpusIndex, optional): the corpus searched by `retrieve` and `retrieve_and_ground`; `ground`
            needs none.

    Example:
        >>> predictor = DMRJRGPredictor.from_pretrained("outputs/demo", index_dir="outputs/index")  # doctest: +SKIP
        >>> results = predictor.retrieve_and_ground("A man opens the door. He walks out.", top_k=3)  # doctest: +SKIP
    """

    model: DMRJRGModel
    processor: DMRJRGProcessor
    index: VideoCorpusIndex | None = None

    @classmethod
    def from_pretrained(
        cls,
        model_name_or_path: str | Path,
        index_dir: str | Path | None = None,
        backend: str | None = None,
        allow_model_mismatch: bool = False,
    ) -> DMRJRGPredictor:
        """Load a model folder (or Hub id) with `load_pretrained` and, when given, an index folder written by
        `VideoCorpusIndex.save` (``backend`` overrides the saved one).

        Raises:
            ConfigError, DataFormatError: a missing or damaged model or index folder (named).
            InputError: an index built by another model (unless ``allow_model_mismatch``).
        """
        from ..loading import load_pretrained

        model, processor = load_pretrained(model_name_or_path)
        index = None
        if index_dir is not None:
            index = VideoCorpusIndex.load(index_dir, backend=backend, allow_model_mismatch=allow_model_mismatch)
            index.check_model(model)
        return cls(model, processor, index)

    def index_videos(
        self,
        features: Mapping[str, np.ndarray] | str | Path,
        durations: Mapping[str, float] | None = None,
        **options: Any,
    ) -> VideoCorpusIndex:
        """Build the corpus index of ``features`` with this model (`VideoCorpusIndex.build` and its ``options``) and
        search it from now on."""
        self.index = VideoCorpusIndex.build(self.model, self.processor, features, durations, **options)
        return self.index

    @property
    def corpus(self) -> VideoCorpusIndex:
        """The index; `InputError` when there is none."""
        if self.index is None:
            raise InputError("no corpus index: load one (from_pretrained(..., index_dir=)) or call index_videos")
        return self.index

    def retrieve(self, paragraphs, top_k: int = 10) -> list[RetrievalHit] | list[list[RetrievalHit]]:
        """The top-k videos of each paragraph (`search.retrieve`)."""
        return search.retrieve(self.model, self.processor, paragraphs, self.corpus, top_k)

    def ground(
        self,
        paragraphs,
        video_features: np.ndarray | Sequence[np.ndarray],
        duration: float | Sequence[float],
        **options: Any,
    ) -> tuple[SentenceGrounding, ...] | list[tuple[SentenceGrounding, ...]]:
        """The moments of every sentence of each paragraph in its video (`search.ground` and its ``options``)."""
        return search.ground(self.model, self.processor, paragraphs, video_features, duration, **options)

    def retrieve_and_ground(
        self, paragraphs, top_k: int = 10, moments_per_sentence: int = 1, **options: Any
    ) -> list[ParagraphResult] | list[list[ParagraphResult]]:
        """The top-k videos of each paragraph with every sentence grounded in each (`search.retrieve_and_ground`)."""
        return search.retrieve_and_ground(
            self.model, self.processor, paragraphs, self.corpus, top_k, moments_per_sentence, **options
        )

    def sentence_score_maps(self, paragraph, video_id: str) -> np.ndarray:
        """The score maps ``P_m`` of one paragraph's sentences in one indexed video (`search.sentence_score_maps`)."""
        return search.sentence_score_maps(self.model, self.processor, paragraph, self.corpus, video_id)

    def save_query_plots(
        self, results: Sequence[ParagraphResult], output_dir: str | Path, **options: Any
    ) -> dict[str, Path]:
        """The retrieval, timeline and score-map figures of one query (`plots.save_query_plots`; ``viz`` extra)."""
        from .plots import save_query_plots

        return save_query_plots(self.model, self.processor, self.corpus, results, output_dir, **options)
