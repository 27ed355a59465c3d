"""Exact top-k inner-product search that reads 1 byte per value: an int8 scan bounds the scores, fp32 re-ranks.

A corpus scan in fp32 is bound by memory bandwidth (4 bytes per value). `Int8EmbeddingScan` keeps an int8 copy of
the embedding matrix with one scale per row (``x_i ≈ codes_i * scale_i``, ``|codes| <= 127``) and scans it with
FBGEMM's int8 matrix product (the query is quantised to 7-bit unsigned codes, so the int16 pair sums of the AVX2
kernel never saturate and the int32 accumulation is exact; its conversion to fp32 is exact up to d = 1040, which
covers every preset). Each approximate score ``a_i`` is then within a
computable ``eps`` of the row's fp32 score ``s_i`` (whatever the fp32 summation order):

    |a_i - s_i| <= ||x_i - x~_i|| ||q|| + ||x~_i|| ||q - q~|| + 2 gamma_(d+4) (||x_i|| + ||x~_i||) (||q|| + ||q - q~||)

(Cauchy-Schwarz for the weight and the query rounding, the standard dot-product bound ``gamma_n = n u / (1 - n u)``
with ``u = 2^-24`` for the fp32 arithmetic of both scores; the row terms are taken at their maxima over the corpus).
Let ``a_(k)`` be the k-th largest approximate score. The k-th largest fp32 score is at least ``a_(k) - eps``, so
every row of the exact top-k has ``a_i >= a_(k) - 2 eps``: that pool is re-scored in fp32 and sorted by
(score descending, row ascending), the order of the exact scan. The pool therefore provably holds the exact answer,
for any k; its size adapts to the corpus (tens to a few thousand rows for 100k unit vectors of width 512).

Scores are fp32 inner products of the pool rows (``torch.mv`` over the gathered rows). BLAS picks its summation
order by matrix shape, so they can differ from the full scan's in the last bits (a few 1e-6 for d = 512): scores
agree to fp32 rounding, and the ids agree unless two rows are that close at the k-th place (where the exact scan
itself answers differently for one query and for a batch).

The copy is built once per index (about 2 s per 100k videos of width 512) and validated on this machine: a probe
query checks the bound on every row, and a machine without FBGEMM, or where the bound fails, scans fp32 instead.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator

import numpy as np
import torch

__all__ = ["Int8EmbeddingScan", "quantize_rows"]

logger = logging.getLogger(__name__)

_ENGINE = "fbgemm"
_QUERY_ZERO_POINT = 64  # query codes round(q / scale) + 64 lie in [1, 127]: 7-bit, no int16 saturation
_QUERY_HALF_RANGE = 63
_UNIT_ROUNDOFF = 2.0**-24
_SAFETY = 1.01  # covers the rounding of eps and of the threshold themselves
_CHUNK_ROWS = 65_536


def quantize_rows(embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-row int8 quantisation: ``embeddings[i] ≈ codes[i] * scales[i]`` with ``|codes| <= 127``.

    Args:
        embeddings (np.ndarray of shape (num_videos, hidden_size)): float32 rows.

    Returns:
        tuple: codes (np.ndarray of int8, same shape) and scales (np.ndarray of float32, shape (num_videos,));
        an all-zero row gets scale 1 and zero codes.
    """
    matrix = torch.from_numpy(embeddings)
    scales = matrix.abs().amax(dim=1) / 127 if len(embeddings) else torch.zeros(0)
    scales[scales == 0] = 1.0
    codes = torch.round(matrix / scales[:, None]).clamp_(-127, 127).to(torch.int8)
    codes, scales = codes.numpy(), scales.numpy()
    return codes, scales


@contextlib.contextmanager
def _quantized_engine(name: str) -> Iterator[None]:
    previous = torch.backends.quantized.engine
    torch.backends.quantized.engine = name
    try:
        yield
    finally:
        torch.backends.quantized.engine = previous


def _row_bounds(embeddings: np.ndarray, codes: np.ndarray, scales: np.ndarray) -> tuple[float, float, float]:
    """Largest row norms of the rounding error, of the dequantised rows and of the rows.

    Computed in float32, in chunks: the relative error of these norms (about 1e-6) is far inside the 1 % margin.
    """
    error, dequantised, original = 0.0, 0.0, 0.0
    for start in range(0, len(embeddings), _CHUNK_ROWS):
        rows = torch.from_numpy(embeddings[start : start + _CHUNK_ROWS])
        approx = torch.from_numpy(codes[start : start + _CHUNK_ROWS]).float()
        approx *= torch.from_numpy(scales[start : start + _CHUNK_ROWS])[:, None]
        error = max(error, float(torch.linalg.vector_norm(rows - approx, dim=1).max()))
        dequantised = max(dequantised, float(torch.linalg.vector_norm(approx, dim=1).max()))
        original = max(original, float(torch.linalg.vector_norm(rows, dim=1).max()))
    return error, dequantised, original


class Int8EmbeddingScan:
    """Int8 copy of an embedding matrix, scanned with FBGEMM, with an exact fp32 re-rank of a bounded pool.

    Args:
        embeddings (np.ndarray of shape (num_videos, hidden_size)): the float32 matrix; kept by reference for the
            re-rank (not copied).

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> embeddings = rng.standard_normal((1000, 32)).astype(np.float32)
        >>> scan = Int8EmbeddingScan(embeddings)
        >>> scores, rows = scan.search(embeddings[[7]], 3)
        >>> int(rows[0, 0])
        7
    """

    def __init__(self, embeddings: np.ndarray):
        self.embeddings = embeddings
        self.hidden_size = embeddings.shape[1]
        codes, scales = quantize_rows(embeddings)
        self._error_norm, self._dequantised_norm, self._row_norm = _row_bounds(embeddings, codes, scales)
        gamma = (self.hidden_size + 4) * _UNIT_ROUNDOFF / (1 - (self.hidden_size + 4) * _UNIT_ROUNDOFF)
        self._arithmetic = 2 * gamma * (self._row_norm + self._dequantised_norm)
        self._packed = _pack(codes, scales)
        if self._packed is not None and not self._bound_holds_on_probe():
            logger.warning("int8 search: the score bound failed on this machine's kernel; scanning fp32 instead")
            self._packed = None

    @property
    def is_active(self) -> bool:
        """Whether the int8 kernel is used (False: FBGEMM missing or the probe failed; `search` scans fp32)."""
        return self._packed is not None

    def approximate_scores(self, queries: np.ndarray) -> tuple[torch.Tensor, np.ndarray]:
        """Int8 scores of every row and the bound of their distance to the fp32 scores.

        Args:
            queries (np.ndarray of shape (num_queries, hidden_size)): float32.

        Returns:
            tuple: scores (torch.FloatTensor of shape (num_queries, num_videos)) and eps (np.ndarray of float64,
            shape (num_queries,)): ``|scores[q, i] - fp32 score| <= eps[q]`` for every row ``i``.
        """
        largest = float(np.abs(queries).max(initial=0.0))
        scale = largest / _QUERY_HALF_RANGE if largest > 0 else 1.0
        codes = np.rint(queries.astype(np.float64) / scale)
        rounding = np.linalg.norm(queries - codes * scale, axis=1)
        rounding += np.sqrt(self.hidden_size) * scale * 2.0**-10  # a kernel may round q / scale near .5 the other way
        norms = np.linalg.norm(queries.astype(np.float64), axis=1)
        eps = _SAFETY * (
            self._error_norm * norms + self._dequantised_norm * rounding + self._arithmetic * (norms + rounding)
        )
        scores = torch.ops.quantized.linear_with_input_q_dq_qweight_dq_output_fp32(
            torch.from_numpy(queries), scale, _QUERY_ZERO_POINT, self._packed
        )  # (num_queries, num_videos)
        return scores, eps

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-k rows of each query by fp32 inner product: score descending, ties by row ascending.

        Args:
            queries (np.ndarray of shape (num_queries, hidden_size)): float32.
            k (int): 1 <= k <= num_videos.

        Returns:
            tuple: scores (np.ndarray of float32) and rows (np.ndarray of int64), both (num_queries, k).
        """
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        every_row = np.arange(len(self.embeddings))
        pools = self.candidate_pools(queries, k) if self.is_active else [every_row] * len(queries)
        scores = np.empty((len(queries), k), np.float32)
        rows = np.empty((len(queries), k), np.int64)
        for query, pool in enumerate(pools):
            matrix = self.embeddings if pool is every_row else self.embeddings[pool]  # no copy for a full scan
            exact = torch.mv(torch.from_numpy(matrix), torch.from_numpy(queries[query])).numpy()
            best = np.lexsort((pool, -exact))[:k]
            scores[query], rows[query] = exact[best], pool[best]
        return scores, rows

    def candidate_pools(self, queries: np.ndarray, k: int) -> list[np.ndarray]:
        """Per query, the rows (ascending) whose int8 score is at least the k-th best minus ``2 eps``: a superset
        of the exact top-k (module docstring)."""
        approx, eps = self.approximate_scores(queries)
        kth = torch.topk(approx, k, dim=1, sorted=False).values.amin(dim=1).double().numpy()  # (num_queries,)
        thresholds = torch.from_numpy(kth - 2 * eps).float()[:, None]  # (num_queries, 1)
        return [
            torch.nonzero(row >= threshold).flatten().numpy()
            for row, threshold in zip(approx, thresholds, strict=True)
        ]

    def _bound_holds_on_probe(self) -> bool:
        probe = np.random.default_rng(0).standard_normal((1, self.hidden_size)).astype(np.float32)
        approx, eps = self.approximate_scores(probe)
        exact = torch.mv(torch.from_numpy(self.embeddings), torch.from_numpy(probe[0]))
        return bool(((approx[0] - exact).abs().double() <= eps[0]).all())

    @property
    def memory_bytes(self) -> int:
        """Bytes of the int8 copy (codes and scales; FBGEMM's packed layout may pad it slightly)."""
        return 0 if self._packed is None else self.embeddings.size + 4 * len(self.embeddings)


def _pack(codes: np.ndarray, scales: np.ndarray):
    """FBGEMM-packed int8 weights of the rows, or None where FBGEMM is not available."""
    if _ENGINE not in torch.backends.quantized.supported_engines:
        logger.warning("int8 search: PyTorch has no %s engine here; scanning fp32 instead", _ENGINE)
        return None
    zero_points = torch.zeros(len(codes), dtype=torch.int64)
    with warnings.catch_warnings(), _quantized_engine(_ENGINE):
        warnings.simplefilter("ignore", UserWarning)  # quantized tensor creation is marked deprecated
        weight = torch._make_per_channel_quantized_tensor(
            torch.from_numpy(codes), torch.from_numpy(scales).double(), zero_points, 0
        )
        return torch.ops.quantized.linear_prepack(weight, None)
