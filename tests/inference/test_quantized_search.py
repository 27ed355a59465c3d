"""Int8 scan + exact fp32 re-rank against the exact fp32 scan: same ids and scores, on random and near-tie corpora."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dmr_jrg_hf.inference import quantized_search
from dmr_jrg_hf.inference.index import VideoCorpusIndex
from dmr_jrg_hf.inference.quantized_search import Int8EmbeddingScan, quantize_rows

pytestmark = pytest.mark.skipif(
    "fbgemm" not in torch.backends.quantized.supported_engines, reason="the int8 scan needs PyTorch's FBGEMM engine"
)


def _index(embeddings: np.ndarray, backend: str) -> VideoCorpusIndex:
    ids = [f"v{i}" for i in range(len(embeddings))]
    return VideoCorpusIndex(ids, embeddings, None, np.ones(len(embeddings)), backend=backend)


def _unit_rows(rng: np.random.Generator, count: int, dim: int) -> np.ndarray:
    rows = rng.standard_normal((count, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_quantize_rows_round_trips_within_half_a_step():
    rng = np.random.default_rng(0)
    embeddings = rng.standard_normal((50, 24)).astype(np.float32)
    embeddings[3] = 0.0
    codes, scales = quantize_rows(embeddings)
    assert codes.dtype == np.int8 and np.abs(codes.astype(int)).max() == 127
    assert scales[3] == 1.0 and not codes[3].any(), "an all-zero row"
    error = np.abs(codes * scales[:, None] - embeddings)
    assert (error <= 0.5 * scales[:, None] * (1 + 1e-5)).all()


@pytest.mark.parametrize("k", [1, 10, 100])
def test_int8_search_equals_the_exact_scan_on_unit_vectors(k):
    rng = np.random.default_rng(k)
    embeddings = _unit_rows(rng, 20_000, 64)
    queries = np.concatenate([_unit_rows(rng, 3, 64), embeddings[[11, 19_000]] + 0.05])
    scores, rows = _index(embeddings, "int8").search(queries, k)
    expected_scores, expected_rows = _index(embeddings, "exact").search(queries, k)
    np.testing.assert_array_equal(rows, expected_rows, err_msg=f"k={k}")
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("k", [1, 7, 100])
def test_int8_search_equals_the_exact_scan_on_exact_near_ties(k):
    rng = np.random.default_rng(10 + k)
    # multiples of 1/8 in [-7/8, 7/8] and queries in [-1, 1] by 1/8: every fp32 product and sum is exact, so both
    # paths give bit-equal scores; rows differ by single steps (score gaps of 1/64, far below the int8 error bound,
    # since 7/8 is not a multiple of the int8 step) and many rows tie exactly (ties go to the lower row)
    base = rng.integers(-7, 8, size=(40, 32))
    embeddings = np.repeat(base, 100, axis=0)
    bumps = rng.integers(0, 32, size=len(embeddings))
    embeddings[np.arange(len(embeddings)), bumps] += rng.integers(-1, 2, size=len(embeddings))
    embeddings = (np.clip(embeddings, -7, 7) / 8).astype(np.float32)
    queries = (rng.integers(-8, 9, size=(4, 32)) / 8).astype(np.float32)
    scan = Int8EmbeddingScan(embeddings)
    assert scan.is_active
    scores, rows = _index(embeddings, "int8").search(queries, k)
    expected_scores, expected_rows = _index(embeddings, "exact").search(queries, k)
    np.testing.assert_array_equal(rows, expected_rows, err_msg=f"k={k}")
    np.testing.assert_array_equal(scores, expected_scores)
    pool_sizes = [len(pool) for pool in scan.candidate_pools(queries, k)]
    assert max(pool_sizes) > k, f"the near ties must reach the re-rank: pools {pool_sizes}"


def test_int8_search_on_near_duplicates_of_the_query():
    rng = np.random.default_rng(5)
    query = _unit_rows(rng, 1, 128)
    # 500 rows within 1e-3 of the query (score gaps of about 1e-7 to 1e-6, all inside the int8 error) + background
    near = query + 1e-3 * rng.standard_normal((500, 128)).astype(np.float32)
    embeddings = np.concatenate([_unit_rows(rng, 5_000, 128), near / np.linalg.norm(near, axis=1, keepdims=True)])
    embeddings = embeddings[rng.permutation(len(embeddings))]
    scores, rows = _index(embeddings, "int8").search(query, 50)
    expected_scores, expected_rows = _index(embeddings, "exact").search(query, 50)
    np.testing.assert_allclose(scores, expected_scores, rtol=0, atol=1e-6)
    exact_scores = embeddings.astype(np.float64) @ query[0].astype(np.float64)
    top = np.sort(exact_scores)[::-1]
    assert np.isclose(scores[0, -1], top[49], atol=1e-6), "the 50th score is the exact 50th"
    assert set(rows[0]) == set(expected_rows[0]) or np.ptp(top[45:55]) < 1e-5, "same ids unless sub-1e-5 ties"


def test_the_score_bound_holds_on_every_row():
    rng = np.random.default_rng(1)
    embeddings = rng.standard_normal((3_000, 96)).astype(np.float32) * rng.uniform(0.1, 3.0, (3_000, 1))
    embeddings = embeddings.astype(np.float32)
    queries = rng.standard_normal((5, 96)).astype(np.float32) * 4
    approx, eps = Int8EmbeddingScan(embeddings).approximate_scores(queries)
    exact = queries.astype(np.float64) @ embeddings.T.astype(np.float64)
    error = np.abs(approx.double().numpy() - exact).max(axis=1)
    assert (error <= eps).all(), f"errors {error} vs bounds {eps}"
    assert (eps < 0.2 * np.abs(exact).max(axis=1)).all(), "the bound is useful (well below the score range)"


def test_pools_hold_the_exact_top_k():
    rng = np.random.default_rng(2)
    embeddings = _unit_rows(rng, 10_000, 48)
    queries = _unit_rows(rng, 8, 48)
    pools = Int8EmbeddingScan(embeddings).candidate_pools(queries, 20)
    _, expected_rows = _index(embeddings, "exact").search(queries, 20)
    for query, (pool, expected) in enumerate(zip(pools, expected_rows, strict=True)):
        assert np.all(np.diff(pool) > 0), "pools are sorted rows"
        assert set(expected) <= set(pool), f"query {query}: recall below 1"
        assert len(pool) < len(embeddings) // 4, f"query {query}: the pool scans too much ({len(pool)})"


def test_int8_index_follows_adds_and_removes():
    rng = np.random.default_rng(3)
    embeddings = _unit_rows(rng, 300, 16)
    index = _index(embeddings[:200], "int8")
    index.search(embeddings[:1], 5)
    index._append([f"v{i}" for i in range(200, 300)], embeddings[200:], None, np.ones(100))
    scores, rows = index.search(embeddings[[250]], 1)
    assert rows[0, 0] == 250, "an added video is searched"
    index.remove(["v250"])
    assert index.video_ids[index.search(embeddings[[250]], 1)[1][0, 0]] != "v250"


def test_fp32_fallback_without_the_engine(monkeypatch):
    rng = np.random.default_rng(4)
    embeddings = _unit_rows(rng, 500, 16)
    monkeypatch.setattr(quantized_search, "_ENGINE", "an engine this PyTorch does not have")
    scan = Int8EmbeddingScan(embeddings)
    assert not scan.is_active
    scores, rows = scan.search(embeddings[:3], 4)
    expected_scores, expected_rows = _index(embeddings, "exact").search(embeddings[:3], 4)
    np.testing.assert_array_equal(rows, expected_rows)
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-6)
