"""Benchmark data: the synthetic benchmark, realistic simulated features for the real annotations, the collator,
builders of the real benchmarks (ActivityNet Captions, Charades-STA, TACoS), feature readers, the defect policy and
preparation report, and the Hub-ready export."""

from .builders import (
    BENCHMARKS,
    BenchmarkBuilder,
    BenchmarkConfig,
    BenchmarkData,
    attach_features,
    get_builder_class,
    load_benchmark,
)
from .collator import DMRJRGCollator
from .prepare import prepare_benchmark
from .readers import (
    FEATURE_LAYOUTS,
    FeatureNotFoundError,
    HDF5FeatureReader,
    NpyFolderFeatureReader,
    VideoFeatureReader,
    open_features,
    write_random_features,
)
from .realistic import RealisticFeatureConfig, generate_realistic_features
from .schema import FEATURE_COLUMN, DefectPolicy, PreparationReport, paragraph_features
from .synthetic import SyntheticBenchmark, SyntheticBenchmarkConfig, generate_synthetic_benchmark

__all__ = [
    "BENCHMARKS",
    "FEATURE_COLUMN",
    "FEATURE_LAYOUTS",
    "BenchmarkBuilder",
    "BenchmarkConfig",
    "BenchmarkData",
    "DMRJRGCollator",
    "DefectPolicy",
    "FeatureNotFoundError",
    "HDF5FeatureReader",
    "NpyFolderFeatureReader",
    "PreparationReport",
    "RealisticFeatureConfig",
    "SyntheticBenchmark",
    "SyntheticBenchmarkConfig",
    "VideoFeatureReader",
    "attach_features",
    "generate_realistic_features",
    "generate_synthetic_benchmark",
    "get_builder_class",
    "load_benchmark",
    "open_features",
    "paragraph_features",
    "prepare_benchmark",
    "write_random_features",
]
