"""Query units of an evaluation: whole paragraphs (the paper's queries) or each sentence used alone as a query.

The paper's central claim (§IV-C) is that a paragraph query retrieves and grounds better than its sentences would
alone, thanks to the context the other sentences give. `single_sentence_queries` turns paragraph rows into
one-sentence rows with the same video, duration and moment, so the same evaluation (`training.evaluate_model`) scores
both query units on the same sentences and the same video corpus: every metric that counts sentences (``vprg``,
``grounding``) then compares like with like, and ``retrieval`` counts one query per sentence instead of one per
paragraph.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InputError

__all__ = ["single_sentence_queries"]


def single_sentence_queries(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each sentence of each paragraph as its own one-sentence query row, in paragraph then sentence order.

    Args:
        rows (Sequence[Mapping]): paragraph rows with ``sentences`` and ``timestamps`` (and ``video_id``,
            ``duration`` and any other field, which every sentence row keeps).

    Returns:
        list[dict]: one row per sentence: the paragraph's other fields, ``sentences`` = ``[sentence]`` and
        ``timestamps`` = ``[[start, end]]``.

    Raises:
        InputError: a row whose ``sentences`` and ``timestamps`` differ in length.

    Example:
        >>> rows = [{"video_id": "v", "duration": 9.0, "sentences": ["a", "b"], "timestamps": [[0, 3], [3, 9]]}]
        >>> [(row["sentences"], row["timestamps"]) for row in single_sentence_queries(rows)]
        [(['a'], [[0, 3]]), (['b'], [[3, 9]])]
    """
    queries = []
    for index, row in enumerate(rows):
        sentences, timestamps = list(row["sentences"]), list(row["timestamps"])
        if len(sentences) != len(timestamps):
            raise InputError(f"row {index}: {len(sentences)} sentences but {len(timestamps)} timestamps")
        others = {key: value for key, value in row.items() if key not in ("sentences", "timestamps")}
        queries.extend(
            {**others, "sentences": [sentence], "timestamps": [list(moment)]}
            for sentence, moment in zip(sentences, timestamps, strict=True)
        )
    return queries
