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
    # The loops below read without bounds checks: the shapes must agree.
    if (
        cells.shape[1] != m
        or bounds.shape[0] != compounds + 1
        or zs.shape[0] != compounds
        or (compounds and (bounds[0] < 0 or bounds[compounds] > cells.shape[0]))
        or any(bounds[c] > bounds[c + 1] for c in range(compounds))
    ):
        raise ValueError("approve, offsets, approvals and z must describe the same compounds")
    tied = np.empty((compounds, m, m), dtype=np.uint8)
    cdef unsigned char[:, :, ::1] out = tied
    # Co-approvals of i and j at both[i * m + j]: each approved item's row adds the ballot's
    # approvals (loops of fixed length, no branch to mispredict per pair), a byte a cell
    # for up to 255 ballots, then into whole numbers.
    cdef unsigned char* recent = <unsigned char*> PyMem_Malloc(m * m + 1)
    cdef int* both = <int*> PyMem_Malloc((m * m + 1) * sizeof(int))
    cdef double* a = <double*> PyMem_Malloc((m + 1) * sizeof(double))
    cdef Py_ssize_t* picked = <Py_ssize_t*> PyMem_Malloc((m + 1) * sizeof(Py_ssize_t))
    cdef const unsigned char* ballot
    cdef unsigned char* sums
    cdef unsigned char* row_out
    cdef int* row_both
    cdef Py_ssize_t c, row, i, j, k, p, added
    cdef double gap, discordant, zz
    try:
        if recent == NULL or both == NULL or a == NULL or picked == NULL:
            raise MemoryError()
        for c in range(compounds):
            memset(recent, 0, m * m)
            memset(both, 0, m * m * sizeof(int))
            added = 0
            for row in range(bounds[c], bounds[c + 1]):
                ballot = &cells[row, 0]
                k = 0
                for j in range(m):
                    picked[k] = j
                    k += ballot[j] != 0
                for p in range(k):
                    sums = recent + picked[p] * m
                    for j in range(m):
                        sums[j] += ballot[j] != 0
                added += 1
                if added == 255:
                    _flush(recent, both, m * m)
                    added = 0
            _flush(recent, both, m * m)
            # (a_i - a_j)**2 <= (a_i + a_j - 2 * both) * z**2, in paired_ties' arithmetic.
            zz = zs[c] * zs[c]
            for j in range(m):
                a[j] = <double> counts[c, j]
            for i in range(m):
                row_both = both + i * m
                row_out = &out[c, i, 0]
                for j in range(m):
                    gap = a[i] - a[j]
                    discordant = (a[i] + a[j]) - <double> row_both[j] - <double> row_both[j]
                    row_out[j] = gap * gap <= discordant * zz
                row_out[i] = 0
    finally:
        PyMem_Free(recent)
        PyMem_Free(both)
        PyMem_Free(a)
        PyMem_Free(picked)
    return tied.view(bool)


cdef inline void _flush(unsigned char* recent, int* both, Py_ssize_t cells):
    """Add the recent counts to the whole ones and clear them."""
    cdef Py_ssize_t x
    for x in range(cells):
        both[x] += recent[x]
    memset(recent, 0, cells)
