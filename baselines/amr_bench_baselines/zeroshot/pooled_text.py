"""The pooled text vector of each query: the hidden state of its ``<|endoftext|>`` token.

MS-CLAP's caption encoder pools the GPT-2 hidden state of the last real token, which is the
``<|endoftext|>`` appended to every query, then projects it. A ``clap_text/qid<qid>.npz`` file
holds the hidden states of a query's tokens, but in one of two shapes:

* trimmed to the query's tokens (this package's extractor, the Lighthouse-Wrapper script): fewer
  than 77 rows, the last one is the end-of-text row;
* padded to MS-CLAP's 77 tokens (lighthouse's text extractor keeps the padded states and returns
  the attention mask beside them): the end-of-text row is the last one the mask marks, or row
  ``token count - 1``. A query of 77 tokens or more is never padded, so 77 rows or more are
  ambiguous without the mask or the count.

So: a file with fewer than 77 rows pools its last row; a longer one pools the last row its
``attention_mask`` (or ``mask``) array marks, else row ``token count - 1`` when a GPT-2 tokenizer
is given to count the tokens; anything else is refused with an error naming the file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from amr_bench.datasets.npzio import read_npz_member
from amr_bench.errors import InputError, Problem
from amr_bench_baselines.zeroshot.curves import SplitData, load_text_features

TEXT_LEN = 77  # MS-CLAP's padded text length
MASK_KEYS = ("attention_mask", "mask")
TokenCounter = Callable[[str], int]


def end_of_text_row(rows: int, mask: np.ndarray | None = None, token_count: int | None = None) -> int:
    """Index of the end-of-text row of a file of ``rows`` token rows; ``ValueError`` saying why
    when it cannot be found (see the module docstring)."""
    if mask is not None:
        mask = np.asarray(mask).reshape(-1)
        if mask.size != rows:
            raise ValueError(f"its mask has {mask.size} entries for {rows} token rows")
        marked = np.flatnonzero(mask != 0)
        if not len(marked):
            raise ValueError("its mask marks no token")
        return int(marked[-1])
    if rows < TEXT_LEN:
        return rows - 1
    if token_count is None:
        raise ValueError(
            f"{rows} token rows and no attention mask: padded to {TEXT_LEN} tokens or not, the "
            "end-of-text row cannot be found; store the mask as 'attention_mask' in the file, or "
            "pass --text-model (a GPT-2 tokenizer) to count the query's tokens"
        )
    if not 1 <= token_count <= rows:
        raise ValueError(f"the query has {token_count} tokens but the file {rows} token rows")
    return token_count - 1


def file_mask(path: Any) -> np.ndarray | None:
    """The attention mask stored beside the hidden states, if the file has one."""
    for key in MASK_KEYS:
        try:
            return np.asarray(read_npz_member(path, key, mmap=False))
        except (KeyError, ValueError):
            continue
    return None


def pooled_text_vectors(
    data: SplitData, count_tokens: TokenCounter | None = None, features: Sequence[np.ndarray] | None = None
) -> np.ndarray:
    """(Q, 768) end-of-text rows of the split's text features, in ground-truth order.

    ``count_tokens(query)`` gives the number of MS-CLAP tokens of ``query + " <|endoftext|>"``
    (:func:`amr_bench_baselines.zeroshot.clap_model.token_counter`); it is needed only for files of 77
    rows or more without a mask. All files that fail are reported together.
    """
    features = load_text_features(data) if features is None else features
    store = data.store
    rows: list[np.ndarray] = []
    problems: list[Problem] = []
    for qid, query, hidden in zip(data.gt.qids, data.gt.queries, features, strict=True):
        mask = file_mask(store.text_path(qid)) if len(hidden) >= TEXT_LEN else None
        count = count_tokens(query) if count_tokens is not None and mask is None and len(hidden) >= TEXT_LEN else None
        try:
            rows.append(hidden[end_of_text_row(len(hidden), mask, count)])
        except ValueError as exc:
            problems.append(Problem(str(store.text_path(qid)), None, f"text features of qid {qid!r}: {exc}"))
    if problems:
        raise InputError(problems, f"{len(problems)} text feature file(s) without a findable end-of-text row")
    return np.stack(rows).astype(np.float32) if rows else np.zeros((0, 768), np.float32)
