"""The one entry that turns a config (or preset name), training paragraphs and word vectors into (model, processor).

The processor's vocabulary comes from the training sentences, so the data decides ``vocab_size``; the features may
decide ``feature_dim``. Both reach the config through `DMRJRGConfig.with_overrides` (validated, logged) before the
model is built, and the weights are initialised from ``seed``, so one seed gives one model.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from .configuration_dmr_jrg import DMRJRGConfig
from .errors import InputError
from .modeling_dmr_jrg import DMRJRGModel
from .modules.transformer_text_encoder import text_encoder_config_dict
from .processing_dmr_jrg import DMRJRGProcessor

__all__ = ["build_model_and_processor"]

logger = logging.getLogger(__name__)


def _training_sentences(train_rows: Sequence[Mapping[str, Any]]) -> list[str]:
    sentences = []
    for position, row in enumerate(train_rows):
        if not isinstance(row, Mapping) or "sentences" not in row:
            raise InputError(f"training row {position}: expected a mapping with 'sentences', got {row!r:.80}")
        sentences.extend(row["sentences"])
    if not sentences:
        raise InputError("no training sentences: the vocabulary is built from the training rows' sentences")
    return sentences


def _training_durations(train_rows: Sequence[Mapping[str, Any]]) -> list[float] | None:
    """Seconds of the training videos (once per video) when every row has a ``duration``, else None."""
    if not all("duration" in row for row in train_rows):
        return None
    return list(
        {row.get("video_id", position): float(row["duration"]) for position, row in enumerate(train_rows)}.values()
    )


def _data_feature_dim(train_rows: Sequence[Mapping[str, Any]], features: Mapping[str, np.ndarray]) -> int:
    """D of the first training row's video features."""
    video_id = train_rows[0].get("video_id")
    if video_id not in features:
        raise InputError(f"video {video_id!r} of the first training row has no features")
    return int(np.shape(features[video_id])[-1])


def build_model_and_processor(
    config: DMRJRGConfig | str,
    train_rows: Sequence[Mapping[str, Any]],
    *,
    features: Mapping[str, np.ndarray] | None = None,
    word_vectors=None,
    video_feature_spec: dict[str, Any] | None = None,
    seed: int = 0,
) -> tuple[DMRJRGModel, DMRJRGProcessor]:
    """Build the processor of the training sentences and a freshly initialised model that matches it.

    Args:
        config (DMRJRGConfig or str): a config, or a preset name for `DMRJRGConfig.from_preset`.
        train_rows (Sequence[Mapping]): training paragraphs (DESIGN §1 rows); their ``sentences`` make the vocabulary.
        features (Mapping[str, np.ndarray], optional): video id -> (frames, D) features; when given, ``feature_dim``
            is taken from the first training row's video.
        word_vectors: ``None`` (gensim Word2Vec on the training sentences), a word2vec-format file or a
            ``KeyedVectors``; post-processed as ``config.word_vector_postprocessing`` says.
        video_feature_spec (dict, optional): what produced the features (name, rate), recorded by the processor.
        seed (int): seeds the Word2Vec training, the word masking and the initial weights.

    Returns:
        tuple[DMRJRGModel, DMRJRGProcessor]: the model (train mode, frozen word vectors set) and its processor; the
        model's config carries the data's ``vocab_size`` and ``feature_dim``. With a transformer
        ``config.text_encoder`` (Table VI) the processor holds its tokenizer, the config that tokenizer's
        ``vocab_size`` and pad/unk/mask ids and the transformer's own config (``text_encoder_config``), and the model
        its pretrained weights. When every row has a ``duration`` the processor grounds videos longer than the longest
        training video in windows (`long_video_defaults`).

    Raises:
        ConfigError: an unknown preset or an invalid override.
        InputError: rows without sentences, or a first training video without features.

    Example:
        >>> model, processor = build_model_and_processor("tiny", [{"sentences": ["a man opens the door"]}])
        >>> model.config.vocab_size == len(processor.vocabulary)
        True
    """
    if isinstance(config, str):
        config = DMRJRGConfig.from_preset(config)
    sentences = _training_sentences(train_rows)
    if features is not None:
        feature_dim = _data_feature_dim(train_rows, features)
        if feature_dim != config.feature_dim:
            logger.info("feature_dim set from the data: %d (config had %d)", feature_dim, config.feature_dim)
            config = config.with_overrides(feature_dim=feature_dim)
    processor = DMRJRGProcessor.from_corpus(
        sentences,
        config=config,
        word_vectors=word_vectors,
        video_feature_spec=video_feature_spec,
        seed=seed,
        training_durations=_training_durations(train_rows),
    )
    if processor.vocab_size != config.vocab_size:
        logger.info("vocab_size set from the data: %d (config had %d)", processor.vocab_size, config.vocab_size)
        config = config.with_overrides(vocab_size=processor.vocab_size)
    if config.text_encoder != "bilstm":
        # subword ids: the reconstruction targets and special ids are the tokenizer's (`TransformerSentenceEncoder`)
        config = config.with_overrides(
            text_encoder_config=text_encoder_config_dict(config.text_encoder), **processor.special_ids
        )
    torch.manual_seed(seed)  # the initial weights: the same seed gives the same model
    model = DMRJRGModel(config)
    if config.text_encoder == "bilstm":
        model.set_word_vectors(processor.word_vectors)
    else:
        model.sentence_encoder.load_pretrained_weights(config.text_encoder)
    return model, processor
