"""Cosine top-k over the rows of one embedding matrix with a corpus index's backend (exact, int8 or FAISS).

`VideoCorpusIndex` scans its video embeddings with one `EmbeddingScan`, and the window embeddings of its long videos
with another when retrieval scores a long video by its best window.
"""

from __future__ import annotations

import numpy as np
import torch

from .quantized_search import Int8EmbeddingScan

__all__ = ["EmbeddingScan", "top_k_rows"]


class EmbeddingScan:
    """Top-k inner products of queries with the rows of ``matrix`` (read in place, never copied).

    Args:
        matrix (np.ndarray of float32, shape (num_rows, hidden_size)): L2-normalised rows.
        backend (str): ``"exact"`` (fp32 scan), ``"int8"`` (`Int8EmbeddingScan`, built at the first query) or
            ``"faiss"`` (``faiss.index_factory`` with inner product, built at the first query).
        faiss_factory (str): FAISS factory string.
    """

    def __init__(self, matrix: np.ndarray, backend: str, faiss_factory: str = "Flat"):
        self.matrix = matrix
        self.backend = backend
        self.faiss_factory = faiss_factory
        self.int8_scan: Int8EmbeddingScan | None = None
        self._faiss_index = None

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Scores and row positions (np.ndarray of shape (num_queries, k)), best first; ties keep row order with the
        exact and int8 backends. ``1 <= k <= num_rows``."""
        if self.backend == "faiss":
            return self._faiss().search(queries, k)
        if self.backend == "int8":
            if self.int8_scan is None:
                self.int8_scan = Int8EmbeddingScan(self.matrix)
            return self.int8_scan.search(queries, k)
        scores = self._inner_products(queries)  # (num_queries, num_rows)
        positions = top_k_rows(scores, k)
        return np.take_along_axis(scores, positions, axis=1), positions

    def _inner_products(self, queries: np.ndarray) -> np.ndarray:
        """Every row's score for every query, reading the matrix once, in place (no copy).

        The product runs in torch's thread pool, the one the encoders use: a query then keeps the threads it set
        (``torch.set_num_threads``) instead of waking a second pool (NumPy's BLAS) that competes with the first for
        the cores. One thread already reads memory at the machine's bandwidth here.
        """
        matrix = torch.from_numpy(self.matrix)  # (num_rows, hidden_size), shares memory
        if len(queries) == 1:
            return torch.mv(matrix, torch.from_numpy(queries[0])).numpy()[None]  # (1, num_rows)
        return (torch.from_numpy(queries) @ matrix.T).numpy()  # (num_queries, num_rows)

    def _faiss(self):
        if self._faiss_index is None:
            import faiss

            self._faiss_index = faiss.index_factory(
                self.matrix.shape[1], self.faiss_factory, faiss.METRIC_INNER_PRODUCT
            )
            self._faiss_index.add(self.matrix)
        return self._faiss_index


def top_k_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` best scores of each row: score descending, ties by position ascending (at the k-th
    place too, so equal scores never make the answer depend on the partition algorithm).

    Args:
        scores (np.ndarray of shape (num_queries, num_videos)).
        k (int): 1 <= k <= num_videos.

    Returns:
        np.ndarray of int64, shape (num_queries, k).
    """
    num_videos = scores.shape[1]
    positions = np.empty((len(scores), k), dtype=np.int64)
    for query, row in enumerate(scores):
        if k < num_videos:
            kth = np.partition(row, num_videos - k)[num_videos - k]  # the k-th largest score
            above = np.flatnonzero(row > kth)
            candidates = np.concatenate([above, np.flatnonzero(row == kth)[: k - len(above)]])
        else:
            candidates = np.arange(num_videos)
        positions[query] = candidates[np.lexsort((candidates, -row[candidates]))]
    return positions
