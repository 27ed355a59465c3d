"""Inference on a video corpus: the corpus index, retrieve / ground / retrieve_and_ground (paper §III) and plots.

`DMRJRGPredictor` holds a model, its processor and an index and answers the same queries as methods.

The plotting functions of `dmr_jrg_hf.inference.plots` (``plot_timeline``, ``plot_score_maps``, ``plot_retrieval``,
``save_figure``, ``moments_to_cells``, ``save_query_plots``) are importable from here too; they load matplotlib (the
``viz`` extra) on first use only, so importing the package does not.
"""

from .feature_sources import check_extractor, check_feature_spec, resolve_feature_source
from .index import BACKENDS, VideoCorpusIndex
from .predictor import DMRJRGPredictor
from .search import encode_paragraphs, ground, retrieve, retrieve_and_ground, sentence_score_maps, split_sentences

__all__ = [
    "BACKENDS",
    "DMRJRGPredictor",
    "VideoCorpusIndex",
    "check_extractor",
    "check_feature_spec",
    "encode_paragraphs",
    "ground",
    "resolve_feature_source",
    "retrieve",
    "retrieve_and_ground",
    "sentence_score_maps",
    "split_sentences",
]

_PLOT_NAMES = frozenset(
    ("moments_to_cells", "plot_retrieval", "plot_score_maps", "plot_timeline", "save_figure", "save_query_plots")
)


def __getattr__(name: str):
    """Import the plotting functions (and matplotlib) when one of them is first asked for."""
    if name in _PLOT_NAMES:
        from . import plots

        return getattr(plots, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
