"""Inference on a video corpus: the corpus index and retrieve / ground / retrieve_and_ground (paper §III)."""

from .bench import benchmark_retrieval
from .index import BACKENDS, VideoCorpusIndex, check_feature_spec, resolve_feature_source
from .search import encode_paragraphs, ground, retrieve, retrieve_and_ground, split_sentences

__all__ = [
    "BACKENDS",
    "VideoCorpusIndex",
    "benchmark_retrieval",
    "check_feature_spec",
    "encode_paragraphs",
    "ground",
    "resolve_feature_source",
    "retrieve",
    "retrieve_and_ground",
    "split_sentences",
]
