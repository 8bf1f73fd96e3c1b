# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Read and check a batch of compounds' ballots in one compiled pass (see rows.py).

`read` is the compiled twin of rows.py's bulk reader: it returns what that
reader makes of the ballots, or None for anything that reader refuses and for
anything merely unusual (a subclass of dict, list or str, a key that is not
a string), which the one-by-one check and reading then name or read.

Every object is looked at through borrowed references. The pass reads its own
copies of the lists of ballots (which hold the ballots); nothing called runs
Python code (exact dicts and sets keyed by exact strings) or lets another
thread run (no numpy call between the first borrowed reference and the last;
the collector paused), so no object can change or go away under the pass, and
objects are also known by their address within it (`Known`).
"""

import gc
import sys

import numpy as np

cimport cython
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from libc.string cimport memcpy
from cpython.object cimport PyObject


cdef extern from "Python.h":
    bint _is_dict "PyDict_CheckExact"(PyObject*)
    bint _is_list "PyList_CheckExact"(PyObject*)
    bint _is_str "PyUnicode_CheckExact"(PyObject*)
    bint _is_int "PyLong_CheckExact"(PyObject*)
    Py_ssize_t _list_size "PyList_GET_SIZE"(PyObject*)
    PyObject* _list_item "PyList_GET_ITEM"(PyObject*, Py_ssize_t)
    Py_ssize_t _str_length "PyUnicode_GET_LENGTH"(PyObject*)
    PyObject* _lookup "PyDict_GetItemWithError"(PyObject*, PyObject*) except? NULL
    bint _next "PyDict_Next"(PyObject*, Py_ssize_t*, PyObject**, PyObject**)
    Py_ssize_t _as_size "PyLong_AsSsize_t"(PyObject*) except? -1
    PyObject* _true "Py_True"
    PyObject* _false "Py_False"


cdef PyObject* _NONE = <PyObject*> None

#: A ballot's fields, in the order of `_FIELDS`.
cdef enum:
    HOUSEHOLD, APPROVE, RANK, BUILDING, CHANNEL, ELDERLY, CHILDREN, VERIFIED, FIELDS

cdef tuple _FIELDS = (
    "household", "approve", "rank", "building", "channel", "elderly", "children", "verified"
)
cdef dict _FIELD_OF = {name: k for k, name in enumerate(_FIELDS)}


@cython.final
cdef class Fields:
    """Find a ballot's fields in one walk over its entries, keys known by address.

    Keys are the interned names or, once met, other strings equal to them
    (JSON gives every ballot of a document the same key objects).
    """

    cdef PyObject* names[FIELDS]
    cdef PyObject* aliases[FIELDS]

    def __cinit__(self):
        cdef Py_ssize_t f
        for f in range(FIELDS):
            self.names[f] = <PyObject*> _FIELDS[f]
            self.aliases[f] = NULL

    cdef bint read(self, PyObject* ballot, PyObject** out) except -1:
        """Fill out[:FIELDS] (NULL for a field left out); false for a key that is not a str."""
        cdef Py_ssize_t at = 0, f
        cdef PyObject* key
        cdef PyObject* value
        cdef PyObject* found
        for f in range(FIELDS):
            out[f] = NULL
        while _next(ballot, &at, &key, &value):
            for f in range(FIELDS):
                if key == self.names[f] or key == self.aliases[f]:
                    out[f] = value
                    break
            else:
                if not _is_str(key):
                    return False
                found = _lookup(<PyObject*> _FIELD_OF, key)
                if found != NULL:
                    f = _as_size(found)
                    self.aliases[f] = key
                    out[f] = value
        return True


@cython.final
cdef class Known:
    """Look strings up in a dict of numbers, remembering the strings met by address.

    `number` is -1 for anything but an exact string the dict holds with a
    number in 0:limit. The table of addresses (`slots`, a power of two) stops
    growing when half full.
    """

    cdef PyObject** keys
    cdef Py_ssize_t* numbers
    cdef size_t mask
    cdef Py_ssize_t room
    cdef dict lookup
    cdef Py_ssize_t limit

    def __cinit__(self, dict lookup, Py_ssize_t limit, Py_ssize_t slots):
        self.lookup = lookup
        self.limit = limit
        self.mask = slots - 1
        self.room = slots // 2
        self.keys = <PyObject**> PyMem_Malloc(slots * sizeof(PyObject*))
        self.numbers = <Py_ssize_t*> PyMem_Malloc(slots * sizeof(Py_ssize_t))
        if self.keys == NULL or self.numbers == NULL:
            raise MemoryError()
        cdef Py_ssize_t slot
        for slot in range(slots):
            self.keys[slot] = NULL

    def __dealloc__(self):
        PyMem_Free(self.keys)
        PyMem_Free(self.numbers)

    cdef inline Py_ssize_t number(self, PyObject* key) except? -2:
        """Return the key's number, or -1."""
        cdef size_t slot = (<size_t> key >> 4) & self.mask
        while self.keys[slot] != NULL:
            if self.keys[slot] == key:
                return self.numbers[slot]
            slot = (slot + 1) & self.mask
        cdef Py_ssize_t number = self.slow(key)
        if number >= 0 and self.room:
            self.keys[slot] = key
            self.numbers[slot] = number
            self.room -= 1
        return number

    cdef Py_ssize_t slow(self, PyObject* key) except? -2:
        if not _is_str(key):
            return -1
        cdef PyObject* found = _lookup(<PyObject*> self.lookup, key)
        if found == NULL or not _is_int(found):
            return -1
        cdef Py_ssize_t number = _as_size(found)
        return number if 0 <= number < self.limit else -1


@cython.final
cdef class Column:
    """A growing array of whole numbers (np.intp), written through a pointer.

    Grown in C (PyMem_Realloc), never through numpy, which may let other threads
    run while it copies: nothing but this pass may run until it ends.
    """

    cdef Py_ssize_t* data
    cdef Py_ssize_t size
    cdef Py_ssize_t room

    def __cinit__(self, Py_ssize_t room):
        self.size = 0
        self.room = max(room, 16)
        self.data = <Py_ssize_t*> PyMem_Malloc(self.room * sizeof(Py_ssize_t))
        if self.data == NULL:
            raise MemoryError()

    def __dealloc__(self):
        PyMem_Free(self.data)

    cdef inline int reserve(self, Py_ssize_t more) except -1:
        cdef Py_ssize_t room
        cdef Py_ssize_t* grown
        if self.size + more > self.room:
            room = max(2 * self.room, self.size + more)
            grown = <Py_ssize_t*> PyMem_Realloc(self.data, room * sizeof(Py_ssize_t))
            if grown == NULL:
                raise MemoryError()
            self.data, self.room = grown, room
        return 0

    cdef object done(self):
        """Return the numbers as an array of their own (called after the pass)."""
        out = np.empty(self.size, dtype=np.intp)
        cdef Py_ssize_t[::1] view = out
        if self.size:
            memcpy(&view[0], self.data, self.size * sizeof(Py_ssize_t))
        return out


cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define CONSULT_PREFETCH(address) __builtin_prefetch(address)
    #else
    #define CONSULT_PREFETCH(address) ((void) (address))
    #endif
    """
    void _prefetch "CONSULT_PREFETCH"(const void*)


cdef extern from "Python.h":
    ctypedef struct PyDictObject:
        void* ma_keys
    ctypedef struct PyListObject:
        PyObject** ob_item


#: Ballots whose fields are read at once (and their objects asked for before they are looked at).
cdef enum:
    BLOCK = 16


@cython.final
cdef class Ahead:
    """Read the ballots' fields a block at a time, asking memory for what comes next.

    The ballots are scattered objects; asking for the dicts two blocks ahead,
    their tables of entries one block ahead and the fields' values (strings,
    lists, then the lists' arrays of items) a block at a time lets the memory
    fetch them side by side rather than one after the other.
    """

    cdef PyObject** ballots
    cdef Py_ssize_t n
    cdef Fields names
    cdef PyObject* block[BLOCK * FIELDS]

    def __cinit__(self, list raws, Py_ssize_t n):
        cdef Py_ssize_t row = 0, b
        self.n = n
        self.names = Fields()
        self.ballots = <PyObject**> PyMem_Malloc((n + 1) * sizeof(PyObject*))
        if self.ballots == NULL:
            raise MemoryError()
        for raw in raws:
            for b in range(_list_size(<PyObject*> raw)):
                self.ballots[row] = _list_item(<PyObject*> raw, b)
                row += 1

    def __dealloc__(self):
        PyMem_Free(self.ballots)

    cdef PyObject** fields(self, Py_ssize_t row) except? NULL:
        """Return ballot `row`'s fields (rows in order); NULL for no dict, or a key no str."""
        cdef Py_ssize_t at = row % BLOCK
        if at == 0 and not self.fill(row):
            return NULL
        return &self.block[at * FIELDS]

    cdef bint fill(self, Py_ssize_t start) except -1:
        cdef Py_ssize_t stop = min(start + BLOCK, self.n), b
        cdef PyObject* ballot
        cdef PyObject** value
        cdef char* entries
        for b in range(start + 2 * BLOCK, min(start + 3 * BLOCK, self.n)):
            _prefetch(self.ballots[b])
        for b in range(start + BLOCK, min(start + 2 * BLOCK, self.n)):
            ballot = self.ballots[b]
            if _is_dict(ballot):
                entries = <char*> (<PyDictObject*> ballot).ma_keys
                _prefetch(entries)
                _prefetch(entries + 64)
                _prefetch(entries + 128)
                _prefetch(entries + 192)
        for b in range(start, stop):
            ballot = self.ballots[b]
            value = &self.block[(b - start) * FIELDS]
            if not _is_dict(ballot) or not self.names.read(ballot, value):
                return False
            _prefetch(value[HOUSEHOLD])
            _prefetch(value[APPROVE])
            _prefetch(value[RANK])
            _prefetch(value[BUILDING])
        for b in range(start, stop):
            value = &self.block[(b - start) * FIELDS]
            _prefetch_items(value[APPROVE])
            _prefetch_items(value[RANK])
        return True


cdef inline void _prefetch_items(PyObject* field):
    if field != NULL and _is_list(field) and _list_size(field):
        _prefetch((<PyListObject*> field).ob_item)


cdef inline bint _flag(PyObject* value, unsigned char* cell):
    """Set the cell to 1 for true, 0 for false, null or absent; return true for anything else."""
    if value == _true:
        cell[0] = 1
    elif value == NULL or value == _NONE or value == _false:
        cell[0] = 0
    else:
        return True
    return False


def read(raws, dict index, rank_depths, dict channels, int unspecified):
    """Read the ballots of compounds `raws` (lists of ballot dicts), or return None.

    `index` numbers the items, `rank_depths` gives each compound's, `channels`
    codes the channels by name and `unspecified` is the code of none. Returns
    (household ids, approve matrix, approve rows, approve items, rank rows,
    rank items, rank positions, flags (elderly, children, verified) x ballots,
    channel codes, building codes, building names, each name's compound):
    buildings are numbered by compound, then name within it (-1 = none).
    None when a ballot is faulty or unusual.
    """
    # Keys whose == could run anything (exact strings only), depths as the bulk reader
    # takes them (whole numbers, none below 0: anything else it refuses).
    if any(type(key) is not str for key in index) or any(
        type(key) is not str for key in channels
    ):
        return None
    depths = list(rank_depths)
    if len(depths) != len(raws):
        raise ValueError("one rank depth per compound")
    if any(type(depth) is not int or depth < 0 for depth in depths):
        return None
    # Past sys.maxsize a depth allows no more than sys.maxsize does (a C number).
    depths = [min(depth, sys.maxsize) for depth in depths]
    # The pass holds borrowed references: it reads its own copies of the lists (held,
    # with their ballots, until it ends), which no other thread can change, and lets
    # no other thread run (nothing in it releases the interpreter's lock).
    copies = [raw.copy() if type(raw) is list else raw for raw in raws]
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _read(copies, index, depths, channels, unspecified)
    finally:
        if collecting:
            gc.enable()


cdef object _read(list raws, dict index, list rank_depths, dict channels, int unspecified):
    cdef Py_ssize_t m = len(index), n = 0, c, b, j, k, row, first, end, number, depth, size
    cdef Py_ssize_t base = 0
    for raw in raws:
        if not _is_list(<PyObject*> raw):
            return None
        n += _list_size(<PyObject*> raw)
    cdef list households = [None] * n
    approve = np.zeros(n * m, dtype=np.uint8)
    flags = np.zeros(3 * n, dtype=np.uint8)
    channel = np.empty(n, dtype=np.int8)
    building = np.empty(n, dtype=np.int32)
    cdef unsigned char[::1] cells = approve
    cdef unsigned char[::1] flag_cells = flags
    cdef signed char[::1] channel_codes = channel
    cdef int[::1] building_codes = building
    cdef Ahead ahead = Ahead(raws, n)
    cdef Known items = Known(index, m, 1024)
    cdef Known channel_of = Known(channels, 128, 64)
    cdef Column approve_row = Column(8 * n), approve_item = Column(8 * n)
    cdef Column rank_row = Column(4 * n), rank_item = Column(4 * n)
    cdef Column rank_position = Column(4 * n), owners = Column(16)
    # ranked[i] is the last row that ranked item i (a priority listed twice).
    ranked = np.full(m + 1, -1, dtype=np.intp)
    cdef Py_ssize_t[::1] last_ranked = ranked
    # A compound's buildings, numbered as met, then by name: code_of[number met].
    code_of = np.empty(n + 1, dtype=np.int32)
    cdef int[::1] code_by_place = code_of
    cdef list names = [], place_names
    cdef dict place
    cdef set seen
    cdef PyObject* field
    cdef PyObject* found
    cdef PyObject** value
    row = 0
    for c in range(len(raws)):
        depth = rank_depths[c]
        seen = set()
        place = {}
        place_names = []
        first = row
        end = row + _list_size(<PyObject*> raws[c])
        for row in range(first, end):
            value = ahead.fields(row)
            if value == NULL:
                return None
            # The household: an exact, non-empty string, once in its compound.
            field = value[HOUSEHOLD]
            if field == NULL or not _is_str(field) or _str_length(field) == 0:
                return None
            size = len(seen)
            seen.add(<object> field)
            if len(seen) == size:
                return None
            households[row] = <object> field
            # Approvals: known items, each once.
            field = value[APPROVE]
            if field == NULL or not _is_list(field):
                return None
            size = _list_size(field)
            approve_row.reserve(size)
            approve_item.reserve(size)
            for j in range(size):
                number = items.number(_list_item(field, j))
                if number < 0 or cells[row * m + number]:
                    return None
                cells[row * m + number] = 1
                approve_row.data[approve_row.size] = row
                approve_item.data[approve_item.size] = number
                approve_row.size += 1
                approve_item.size += 1
            # Priorities: approved items, each once, no more than the depth.
            field = value[RANK]
            if field != NULL and field != _NONE:
                if not _is_list(field):
                    return None
                size = _list_size(field)
                if size > depth:
                    return None
                rank_row.reserve(size)
                rank_item.reserve(size)
                rank_position.reserve(size)
                for j in range(size):
                    number = items.number(_list_item(field, j))
                    if number < 0 or not cells[row * m + number] or last_ranked[number] == row:
                        return None
                    last_ranked[number] = row
                    rank_row.data[rank_row.size] = row
                    rank_item.data[rank_item.size] = number
                    rank_position.data[rank_position.size] = j
                    rank_row.size += 1
                    rank_item.size += 1
                    rank_position.size += 1
            if (
                _flag(value[ELDERLY], &flag_cells[row])
                or _flag(value[CHILDREN], &flag_cells[n + row])
                or _flag(value[VERIFIED], &flag_cells[2 * n + row])
            ):
                return None
            field = value[CHANNEL]
            if field == NULL or field == _NONE:
                channel_codes[row] = <signed char> unspecified
            else:
                number = channel_of.number(field)
                if number < 0:
                    return None
                channel_codes[row] = <signed char> number
            field = value[BUILDING]
            if field == NULL or field == _NONE:
                building_codes[row] = -1
            elif _is_str(field):
                found = _lookup(<PyObject*> place, field)
                if found == NULL:
                    number = len(place_names)
                    place[<object> field] = number
                    place_names.append(<object> field)
                else:
                    number = _as_size(found)
                building_codes[row] = <int> number
            else:
                return None
        row = end
        k = len(place_names)
        if k:
            order = sorted(range(k), key=place_names.__getitem__)
            for j in range(k):
                code_by_place[<Py_ssize_t> order[j]] = <int> (base + j)
            for b in range(first, end):
                if building_codes[b] >= 0:
                    building_codes[b] = code_by_place[building_codes[b]]
            names.extend([place_names[j] for j in order])
            owners.reserve(k)
            for j in range(k):
                owners.data[owners.size] = c
                owners.size += 1
            base += k
    return (
        households,
        approve.view(bool).reshape(n, m),
        approve_row.done(),
        approve_item.done(),
        rank_row.done(),
        rank_item.done(),
        rank_position.done(),
        flags.view(bool).reshape(3, n),
        channel,
        building,
        tuple(names),
        owners.done().astype(np.int64),
    )
