"""Compiled (numba) forms of the two hot loops of fingerprinting, bit-identical to the numpy path.

- `token_hashes`: the xxh3-64 hash of every token of a buffer of space-separated tokens,
  what `sketch.word_hashes` gets from `xxhash.xxh3_64_intdigest`, one token at a time,
  without a Python object per word. XXH3 (seed 0, the default secret) is written out
  here for tokens up to 240 bytes; a longer token is hashed by xxhash afterwards.
- `combine_ngrams`: the 32-bit hash of every word n-gram, as `sketch.combine_ngrams`
  folds and avalanches it, in one pass instead of n + 5 numpy passes;
- `minimum_affine`: per set and permutation, the minimum of `a * h + b` (wrapping in
  uint32) over the set's pre-mixed shingle hashes, what `sketch.minhash_signatures`
  computes on (permutations x shingles) blocks in numpy.
- `bucket_ranges`, `mark_buckets`, `marked` (from cleaner.dedup.table_kernels): a key
  table's run searches, one binary search per key where numpy takes a dozen passes and
  temporaries per bisection step, and its bitmap filter set and read entry by entry.
- `directory_ranges` (from cleaner.dedup.lookup_kernels): `bucket_ranges` through a
  directory, its keys' cache misses overlapped by software prefetch.
- `pair_counts`, `shared_counts` (from cleaner.dedup.verify_kernels): verification's
  intersection counts, each query's shingles behind a small bit filter, where numpy
  binary-searches every shingle in one large array.

Imported only through `sketch.compiled()`: numba costs a noticeable part of a second to
import and start, and the first run on a machine compiles these (then cached next to this
file); importing this module does all of that (`_start`), so the first real call is not
slower. tests/dedup/test_kernels.py checks both against xxhash and the numpy path.
"""

from __future__ import annotations

import sys
from types import ModuleType

import numpy as np


def _numba() -> ModuleType:
    """numba, imported so that it does not import SciPy: at start numba looks for SciPy's
    BLAS (for linear algebra these kernels never use), which would cost as much again as
    numba itself and pull SciPy into every run (see cleaner.dedup.sketch). When SciPy is
    already imported, nothing is hidden."""
    hide = "scipy" not in sys.modules
    if hide:
        sys.modules["scipy"] = None  # type: ignore[assignment]  # so `import scipy` raises ImportError
    try:
        import numba
        from numba.core.registry import cpu_target

        cpu_target.target_context.refresh()  # where numba's start-up checks run
        return numba
    finally:
        if hide:
            del sys.modules["scipy"]


_nb = _numba()
njit, uint32, uint64 = _nb.njit, _nb.uint32, _nb.uint64

# The first 136 bytes of XXH3's default secret (`kSecret`), all that inputs of at most
# 240 bytes read; a constant of the algorithm (pinned by the tests against xxhash).
_SECRET = np.frombuffer(bytes.fromhex(
    "b8fe6c3923a44bbe7c01812cf721ad1cded46de9839097db7240a4a4b7b3671f"
    "cb79e64eccc0e578825ad07dccff7221b8084674f743248ee03590e6813a264c"
    "3c2852bb91c300cb88d0658b1b532ea371644897a20df94e3819ef46a9deacd8"
    "a8fa763fe39c343ff9dcbbc7c70b4f1d8a51e04bcdb45931c89f7ec9d9787364"
    "eac5ac8334d3ebc3"), dtype=np.uint8)
LONGEST = 240  # tokens longer than this are left to xxhash

_P32_1, _P32_2, _P32_3 = uint64(0x9E3779B1), uint64(0x85EBCA77), uint64(0xC2B2AE3D)
_P64_1, _P64_2, _P64_3 = uint64(0x9E3779B185EBCA87), uint64(0xC2B2AE3D27D4EB4F), uint64(0x165667B19E3779F9)
_MX1, _MX2 = uint64(0x165667919E3779F9), uint64(0x9FB21C651E98DF25)
_LOW32 = uint64(0xFFFFFFFF)


@njit(cache=True, inline="always")
def _read64(data, at):
    i = uint64(at)  # an unsigned index: no wraparound check, so LLVM makes this one load
    value = uint64(0)
    for k in range(7, -1, -1):
        value = (value << uint64(8)) | uint64(data[i + uint64(k)])
    return value


@njit(cache=True, inline="always")
def _read32(data, at):
    i = uint64(at)
    value = uint64(0)
    for k in range(3, -1, -1):
        value = (value << uint64(8)) | uint64(data[i + uint64(k)])
    return value


@njit(cache=True, inline="always")
def _rotl(x, r):
    return (x << uint64(r)) | (x >> uint64(64 - r))


@njit(cache=True, inline="always")
def _swap64(x):
    out = uint64(0)
    for _ in range(8):
        out = (out << uint64(8)) | (x & uint64(0xFF))
        x >>= uint64(8)
    return out


@njit(cache=True, inline="always")
def _mul_fold(a, b):
    """The 128-bit product of a and b, its high and low 64 bits xor-ed."""
    a_lo, a_hi, b_lo, b_hi = a & _LOW32, a >> uint64(32), b & _LOW32, b >> uint64(32)
    lo_lo, hi_lo, lo_hi, hi_hi = a_lo * b_lo, a_hi * b_lo, a_lo * b_hi, a_hi * b_hi
    cross = (lo_lo >> uint64(32)) + (hi_lo & _LOW32) + lo_hi
    upper = (hi_lo >> uint64(32)) + (cross >> uint64(32)) + hi_hi
    lower = (cross << uint64(32)) | (lo_lo & _LOW32)
    return upper ^ lower


@njit(cache=True, inline="always")
def _avalanche64(h):
    h ^= h >> uint64(33)
    h *= _P64_2
    h ^= h >> uint64(29)
    h *= _P64_3
    return h ^ (h >> uint64(32))


@njit(cache=True, inline="always")
def _avalanche3(h):
    h ^= h >> uint64(37)
    h *= _MX1
    return h ^ (h >> uint64(32))


@njit(cache=True, inline="always")
def _mix16(data, at, secret, offset):
    return _mul_fold(_read64(data, at) ^ _read64(secret, offset), _read64(data, at + 8) ^ _read64(secret, offset + 8))


@njit(cache=True)
def _xxh3(data, at, n, secret):
    """XXH3-64 (seed 0, default secret) of data[at:at + n], for n <= 240."""
    length = uint64(n)
    if n == 0:
        return _avalanche64(_read64(secret, 56) ^ _read64(secret, 64))
    if n <= 3:
        combined = ((uint64(data[at]) << uint64(16)) | (uint64(data[at + (n >> 1)]) << uint64(24))
                    | uint64(data[at + n - 1]) | (length << uint64(8)))
        return _avalanche64(combined ^ (_read32(secret, 0) ^ _read32(secret, 4)))
    if n <= 8:
        keyed = _read32(data, at + n - 4) + (_read32(data, at) << uint64(32))
        keyed ^= _read64(secret, 8) ^ _read64(secret, 16)
        keyed ^= _rotl(keyed, 49) ^ _rotl(keyed, 24)
        keyed *= _MX2
        keyed ^= (keyed >> uint64(35)) + length
        keyed *= _MX2
        return keyed ^ (keyed >> uint64(28))
    if n <= 16:
        low = _read64(data, at) ^ (_read64(secret, 24) ^ _read64(secret, 32))
        high = _read64(data, at + n - 8) ^ (_read64(secret, 40) ^ _read64(secret, 48))
        return _avalanche3(length + _swap64(low) + high + _mul_fold(low, high))
    acc = length * _P64_1
    if n <= 128:
        rounds = (n - 1) // 32 + 1  # 1 to 4 pairs, from both ends inwards
        for i in range(rounds):
            acc += _mix16(data, at + 16 * i, secret, 32 * i)
            acc += _mix16(data, at + n - 16 * (i + 1), secret, 32 * i + 16)
        return _avalanche3(acc)
    for i in range(8):
        acc += _mix16(data, at + 16 * i, secret, 16 * i)
    tail = _mix16(data, at + n - 16, secret, 136 - 17)
    acc = _avalanche3(acc)
    for i in range(8, n // 16):
        tail += _mix16(data, at + 16 * i, secret, 16 * (i - 8) + 3)
    return _avalanche3(acc + tail)


@njit(cache=True)
def _token_hashes(data, ends, secret, hashes, counts, longs):
    """Hash every run of non-space bytes of `data`; part p ends at ends[p] (exclusive).
    Returns (tokens, long tokens): how much of `hashes` and of `longs` was filled."""
    found, long, at = 0, 0, 0
    for part in range(ends.shape[0]):
        end, before = ends[part], found
        while at < end:
            while at < end and data[at] == 32:
                at += 1
            start = at
            while at < end and data[at] != 32:
                at += 1
            if at > start:
                if at - start > LONGEST:
                    longs[0, long], longs[1, long], longs[2, long] = start, at - start, found
                    long += 1
                    hashes[found] = 0
                else:
                    hashes[found] = _xxh3(data, start, at - start, secret)
                found += 1
        counts[part] = found - before
    return found, long


def token_hashes(data: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hashes, tokens per part, longs) of the space-separated tokens of `data` (uint8), in
    parts ending at `ends`; `longs` (3 x k: start, length, index) are the tokens over
    LONGEST bytes, whose hash is left 0 for the caller to fill in."""
    hashes = np.empty(len(data) // 2 + 1, dtype=np.uint64)
    counts = np.empty(len(ends), dtype=np.int64)
    longs = np.empty((3, len(data) // (LONGEST + 1) + 1), np.int64)
    found, long = _token_hashes(data, ends, _SECRET, hashes, counts, longs)
    return hashes[:found], counts, longs[:, :long]


@njit(cache=True)
def _minimum_affine(mixed, starts, ends, a, b, out):
    count = a.shape[0]
    acc = np.empty(count, np.uint32)
    for s in range(starts.shape[0]):
        acc[:] = uint32(0xFFFFFFFF)
        for i in range(starts[s], ends[s]):
            h = mixed[i]
            for p in range(count):
                acc[p] = min(acc[p], uint32(a[p] * h + b[p]))
        out[s, :] = acc


def minimum_affine(mixed: np.ndarray, starts: np.ndarray, ends: np.ndarray, a: np.ndarray, b: np.ndarray,
                   out: np.ndarray) -> None:
    """out[i, p] = min over mixed[starts[i]:ends[i]] of uint32(a[p] * h + b[p]) (all uint32)."""
    _minimum_affine(mixed, starts.astype(np.int64), ends.astype(np.int64), a, b, out)


_STEP = uint64(0x9E3779B97F4A7C15)
_FMIX64 = (uint64(0xFF51AFD7ED558CCD), uint64(0xC4CEB9FE1A85EC53))


@njit(cache=True)
def _combine_ngrams(hashes, n, out):
    m1, m2 = _FMIX64
    for i in range(out.shape[0]):
        gram = hashes[i]
        for offset in range(1, n):
            gram = gram * _STEP + hashes[i + offset]
        gram ^= gram >> uint64(33)
        gram *= m1
        gram ^= gram >> uint64(33)
        gram *= m2
        gram ^= gram >> uint64(33)
        out[i] = uint32(gram >> uint64(32))


def combine_ngrams(hashes: np.ndarray, n: int) -> np.ndarray:
    """`sketch.combine_ngrams` in one pass: the high 32 bits of the 64-bit MurmurHash3
    finalizer of each n-gram's polynomial in the golden-ratio step (n <= len(hashes))."""
    out = np.empty(len(hashes) - n + 1, dtype=np.uint32)
    _combine_ngrams(hashes, n, out)
    return out


# The key-table kernels (cleaner.dedup.table_kernels) use this module's numba; loaded with it.
from cleaner.dedup.lookup_kernels import directory_ranges  # noqa: E402
from cleaner.dedup.table_kernels import bucket_ranges, mark_buckets, marked  # noqa: E402
from cleaner.dedup.verify_kernels import pair_counts, shared_counts  # noqa: E402


def _start() -> None:
    """Load (or, the first time on a machine, compile and cache) every kernel now."""
    token_hashes(np.frombuffer(b"a bc", dtype=np.uint8), np.array([4]))
    one = np.ones(1, dtype=np.uint32)
    minimum_affine(one, np.array([0]), np.array([1]), one, one, np.empty((1, 1), dtype=np.uint32))
    combine_ngrams(np.ones(3, dtype=np.uint64), 3)
    bucket_ranges(np.ones(1, dtype=np.uint64), np.array([0, 1], dtype=np.uint64), np.ones(1, dtype=np.uint64))
    directory_ranges(np.ones(1, dtype=np.uint64), np.array([0, 1], dtype=np.uint64), np.ones(1, dtype=np.uint64))
    mark_buckets(np.zeros(1, dtype=np.uint8), np.ones(1, dtype=np.uint64), np.uint64(61))
    marked(np.zeros(1, dtype=np.uint8), np.ones(1, dtype=np.uint64), np.uint64(61))
    pair_counts(one, np.array([0, 1]), np.zeros(1, dtype=np.intp), one, np.ones(1, dtype=np.intp))
    shared_counts(one, one, np.ones(1, dtype=np.intp))


_start()
