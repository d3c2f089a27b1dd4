"""Plain numpy helpers on index arrays, shared by the stages that build CSR tables.

:func:`csr_from_pairs` sorts rows ``(source, columns...)`` into a CSR over the sources;
the footpaths of an intermodal network are built with it (by ``network``, and again by
``scenarios`` when a scenario adds stops).
"""

from __future__ import annotations

import numpy as np


def csr_from_pairs(n: int, src: np.ndarray, *columns: np.ndarray) -> tuple[np.ndarray, ...]:
    """Sort ``(src, columns...)`` rows by ``src`` into a CSR: ``(ptr, *columns)``."""
    src = np.asarray(src, np.int64)
    order = np.argsort(src, kind="stable")
    ptr = np.concatenate([[0], np.cumsum(np.bincount(src, minlength=n))]).astype(np.int64)
    return (ptr, *(np.ascontiguousarray(np.asarray(c)[order]) for c in columns))
