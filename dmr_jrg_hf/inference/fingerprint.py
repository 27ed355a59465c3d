"""Fingerprint of the model that built a corpus index: its config fields and its retrieval-branch weights.

An index stores E1 video embeddings; searching them with E2 paragraph embeddings of another model gives a ranking
that looks plausible and is wrong. The fingerprint lets `VideoCorpusIndex.check_model` refuse that.
"""

from __future__ import annotations

import hashlib
import json
import weakref

import torch

__all__ = ["RETRIEVAL_WEIGHT_PREFIXES", "model_fingerprint"]

# What `encode_videos` and `encode_paragraphs` read: word vectors, Bi-LSTM, clip projection, E1 and E2.
RETRIEVAL_WEIGHT_PREFIXES = (
    "word_vectors",
    "sentence_encoder.",
    "temporal_map.",
    "video_encoder.",
    "paragraph_encoder.",
)

_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _retrieval_tensors(model) -> list[tuple[str, torch.Tensor]]:
    return sorted(
        (name, tensor) for name, tensor in model.state_dict().items() if name.startswith(RETRIEVAL_WEIGHT_PREFIXES)
    )


def _config_fields(config) -> dict:
    values = config.to_dict()
    own = type(config).__annotations__
    return {name: values[name] for name in sorted(own) if name in values}


def model_fingerprint(model) -> str:
    """SHA-256 (hex, 16 characters) of the model's config fields and retrieval weights (bytes, in name order).

    Cached per model until a retrieval tensor changes in place (an optimizer step or ``load_state_dict``), so a
    query does not hash the weights again.
    """
    tensors = _retrieval_tensors(model)
    version = tuple((name, tensor.data_ptr(), tensor._version) for name, tensor in tensors)
    cached = _CACHE.get(model)
    if cached is not None and cached[0] == version:
        return cached[1]
    digest = hashlib.sha256(json.dumps(_config_fields(model.config), sort_keys=True).encode())
    for name, tensor in tensors:
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    fingerprint = digest.hexdigest()[:16]
    _CACHE[model] = (version, fingerprint)
    return fingerprint
