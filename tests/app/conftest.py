"""Fixtures of the app tests: an untrained tiny model saved to a folder and its index of a small synthetic corpus."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from dmr_jrg_hf.apps.session import paragraph_text
from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
from dmr_jrg_hf.data.synthetic import SyntheticBenchmark, generate_synthetic_benchmark
from dmr_jrg_hf.inference import VideoCorpusIndex
from dmr_jrg_hf.model_builder import build_model_and_processor
from dmr_jrg_hf.modeling_dmr_jrg import DMRJRGModel
from dmr_jrg_hf.processing_dmr_jrg import DMRJRGProcessor


@dataclass
class AppFolders:
    """A saved model folder, a saved index folder and the corpus both were made from."""

    model_dir: Path
    index_dir: Path
    corpus: SyntheticBenchmark

    @property
    def example(self) -> str:
        """The first test paragraph as one string."""
        return paragraph_text(self.corpus.paragraphs["test"][0]["sentences"])


def save_tiny_model(corpus: SyntheticBenchmark, folder: Path) -> Path:
    """An untrained `tiny` model with a processor fitted on the corpus' training sentences, saved to ``folder``."""
    config = DMRJRGConfig.from_preset("tiny", feature_dim=corpus.config.feature_dim)
    spec = {"name": "synthetic", "rate_per_second": corpus.config.frames_per_second}
    model, processor = build_model_and_processor(config, corpus.paragraphs["train"], video_feature_spec=spec)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def app_folders(tmp_path_factory) -> AppFolders:
    root = tmp_path_factory.mktemp("app")
    corpus = generate_synthetic_benchmark(
        num_train_videos=16, num_validation_videos=0, num_test_videos=8, feature_dim=12, max_sentences=4, seed=5
    )
    model_dir = save_tiny_model(corpus, root / "model")
    model = DMRJRGModel.from_pretrained(model_dir).eval()
    processor = DMRJRGProcessor.from_pretrained(model_dir)
    rows = corpus.paragraphs["test"]
    durations = {row["video_id"]: row["duration"] for row in rows}
    features = {video_id: corpus.features[video_id] for video_id in durations}
    index = VideoCorpusIndex.build(model, processor, features, durations, show_progress=False)
    return AppFolders(model_dir, index.save(root / "index"), corpus)
