# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Tell which items the ballots cannot tell apart, compiled (see stats.co_approval_ties).

The compiled twin of `co_approval_ties`: each compound's co-approvals are
counted from its ballots' approved items (no matrix product), then its pairs
of items compared with McNemar's test, in the very float64 arithmetic of
`paired_ties`, so that every tie is the same.
"""

import numpy as np

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.string cimport memset


def co_approval_ties(approve, offsets, approvals, z):
    """Return (C, m, m): whether compound c's ballots cannot tell items i and j apart.

    `approve` is the (n, m) bool matrix, compound c's ballots its rows
    offsets[c]:offsets[c + 1]; `approvals` (C, m) and `z` (C,) as for paired_ties.
    """
    cdef const unsigned char[:, ::1] cells = np.ascontiguousarray(approve).view(np.uint8)
    cdef const long long[::1] bounds = np.ascontiguousarray(offsets, dtype=np.int64)
    cdef const long long[:, ::1] counts = np.ascontiguousarray(approvals, dtype=np.int64)
    cdef const double[::1] zs = np.ascontiguousarray(z, dtype=np.float64)
    cdef Py_ssize_t compounds = counts.shape[0], m = counts.shape[1]
    tied = np.empty((compounds, m, m), dtype=np.uint8)
    cdef unsigned char[:, :, ::1] out = tied
    # Co-approvals of i and j (i < j) at both[i * m + j]: each approved item's row adds the
    # ballot's approvals (loops of fixed length: no branch to mispredict per pair).
    cdef unsigned int* both = <unsigned int*> PyMem_Malloc((m * m + 1) * sizeof(unsigned int))
    cdef Py_ssize_t* picked = <Py_ssize_t*> PyMem_Malloc((m + 1) * sizeof(Py_ssize_t))
    cdef const unsigned char* ballot
    cdef unsigned int* sums
    cdef Py_ssize_t c, row, i, j, k, p
    cdef double gap, discordant, zz
    if both == NULL or picked == NULL:
        PyMem_Free(both)
        PyMem_Free(picked)
        raise MemoryError()
    try:
        for c in range(compounds):
            memset(both, 0, m * m * sizeof(unsigned int))
            for row in range(bounds[c], bounds[c + 1]):
                ballot = &cells[row, 0]
                k = 0
                for j in range(m):
                    picked[k] = j
                    k += ballot[j] != 0
                for p in range(k):
                    sums = both + picked[p] * m
                    for j in range(m):
                        sums[j] += ballot[j] != 0
            zz = zs[c] * zs[c]
            for i in range(m):
                out[c, i, i] = 0
                for j in range(i + 1, m):
                    # (a_i - a_j)**2 <= (a_i + a_j - 2 * both) * z**2, as paired_ties has it.
                    gap = <double> counts[c, i] - <double> counts[c, j]
                    discordant = <double> counts[c, i] + <double> counts[c, j]
                    discordant -= <double> both[i * m + j]
                    discordant -= <double> both[i * m + j]
                    out[c, i, j] = out[c, j, i] = gap * gap <= discordant * zz
    finally:
        PyMem_Free(both)
        PyMem_Free(picked)
    return tied.view(bool)
