"""Exact search against a straightforward reference: full NumPy product, full stable sort (ties by row)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dmr_jrg_hf.inference.embedding_scan import top_k_rows
from dmr_jrg_hf.inference.index import VideoCorpusIndex


def _reference(queries: np.ndarray, embeddings: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = queries @ embeddings.T
    rows = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, rows, axis=1), rows


def _index(embeddings: np.ndarray) -> VideoCorpusIndex:
    return VideoCorpusIndex([f"v{i}" for i in range(len(embeddings))], embeddings, None, np.ones(len(embeddings)))


@pytest.mark.parametrize("num_queries", [1, 3])
@pytest.mark.parametrize("k", [1, 7, 50, 5_000])
def test_exact_search_equals_the_reference_with_many_ties(num_queries, k):
    rng = np.random.default_rng(k + num_queries)
    # small integers: every product and sum is exact in float32, so both paths give bit-equal scores and many ties
    embeddings = rng.integers(-2, 3, size=(3_000, 8)).astype(np.float32)
    queries = rng.integers(-2, 3, size=(num_queries, 8)).astype(np.float32)
    scores, rows = _index(embeddings).search(queries, k)
    expected_scores, expected_rows = _reference(queries, embeddings, min(k, 3_000))
    np.testing.assert_array_equal(rows, expected_rows, err_msg=f"k={k}, {num_queries} queries")
    np.testing.assert_array_equal(scores, expected_scores)


def test_exact_search_on_unit_vectors_equals_the_reference():
    rng = np.random.default_rng(0)
    embeddings = rng.standard_normal((20_000, 64)).astype(np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    queries = embeddings[[5, 17_000]] + 0.01 * rng.standard_normal((2, 64)).astype(np.float32)
    scores, rows = _index(embeddings).search(queries, 10)
    expected_scores, expected_rows = _reference(queries, embeddings, 10)
    np.testing.assert_array_equal(rows, expected_rows)
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-5)
    assert rows[0, 0] == 5 and rows[1, 0] == 17_000


def test_top_k_breaks_ties_by_row_at_the_boundary():
    scores = np.array([[1.0, 3.0, 1.0, 3.0, 2.0, 1.0]])
    assert top_k_rows(scores, 3).tolist() == [[1, 3, 4]]
    assert top_k_rows(scores, 4).tolist() == [[1, 3, 4, 0]], "the lowest row among the tied 4th"
    assert top_k_rows(scores, 6).tolist() == [[1, 3, 4, 0, 2, 5]]


def test_search_reads_the_matrix_in_place(monkeypatch):
    embeddings = np.eye(4, dtype=np.float32)
    index = _index(embeddings)
    seen = []
    real_mv = torch.mv
    monkeypatch.setattr(torch, "mv", lambda matrix, vector: seen.append(matrix) or real_mv(matrix, vector))
    index.search(np.array([[0.0, 0.0, 1.0, 0.0]], np.float32), 1)
    assert np.shares_memory(seen[0].numpy(), index.embeddings), "no copy of the embedding matrix per query"
