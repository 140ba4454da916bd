"""Vectorised shingle hashing and MinHash for many paragraphs at once.

Per-paragraph MinHash through datasketch costs a Python call per shingle (`update_batch`
hashes each value with `hashfunc` in a list comprehension) and a template copy per
paragraph. Here every shingle of a whole document goes through numpy in one pass:

- each word is hashed once with xxhash (`xxh3_64`, through `map`, so no Python loop runs
  per word or per shingle), and the n word hashes of a shingle are combined in numpy;
- the MinHash is datasketch's own "affine32" scheme: its MurmurHash3 pre-mix (`fmix`)
  and its permutations (`permutations`), applied to an (shingles x permutations) block and
  reduced per paragraph with `np.minimum.reduceat`. The result is bit-identical to
  `MinHash.update_batch` on the same shingle hashes (tests/test_sketch.py checks it), so
  datasketch's MinHashLSH and LeanMinHash take the signatures as they are.

The hot loops have a compiled form (cleaner.dedup.kernels, numba) with bit-identical
results: the per-word hashing, the n-gram hashes and the MinHash minimum. A process loads
it (`compiled`) only once it has hashed `COMPILED_AFTER` tokens with numpy: starting numba
costs what the kernels save on some millions of words (and a hundred MB of memory), so a
run of a few tens of MB never pays for it (bench/RESULTS.md, "Per-document steps").
`CLEANER_KERNELS=numpy` (or `compiled`) forces one path; without numba installed (or
importable), the numpy path is the only one.

Why the pre-mix and the permutations are written out here (eight lines) rather than taken
from datasketch: `import datasketch` imports scipy (for MinHashLSH's parameter search),
0.4 s of every run, a sixth of cleaning the BBC corpus. Tests pin both to datasketch's.
"""

from __future__ import annotations

from collections.abc import Sequence
import gc
from itertools import chain
import os
from types import ModuleType

import numpy as np
import xxhash

_MAX32 = np.uint32(0xFFFFFFFF)
# MurmurHash3's finalizer constants (shift, multiplier, shift, multiplier, shift) per width.
_FMIX = {
    32: (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16)),
    64: (np.uint64(33), np.uint64(0xFF51AFD7ED558CCD), np.uint64(33), np.uint64(0xC4CEB9FE1A85EC53), np.uint64(33)),
}
# Odd multiplier combining the word hashes of a shingle in order (the 64-bit golden ratio).
_STEP = np.uint64(0x9E3779B97F4A7C15)
_HIGH = np.uint64(32)
# Cells of the (shingles x permutations) block per numpy pass: 4 MB of uint32, so a huge
# document costs time, not memory.
BLOCK_CELLS = 1 << 20
# Tokens a process hashes with numpy before it loads the compiled kernels (see above).
COMPILED_AFTER = 3_000_000
_loaded: dict[str, ModuleType | None] = {}
_hashed = [0]  # tokens hashed so far in this process


def compiled(tokens: int = 0) -> ModuleType | None:
    """cleaner.dedup.kernels, if numba is installed and it is time to use it (about to hash
    `tokens` more tokens): as the module docstring says; None means the numpy path."""
    mode = os.environ.get("CLEANER_KERNELS", "auto")
    if mode == "numpy":
        return None
    _hashed[0] += tokens
    if mode != "compiled" and _hashed[0] < COMPILED_AFTER and "kernels" not in _loaded:
        return None
    if "kernels" not in _loaded:
        collecting = gc.isenabled()
        gc.disable()  # numba's start makes some 75,000 objects that live as long as the process
        try:
            from cleaner.dedup import kernels
        except ImportError:  # numba missing (or not built for this platform): numpy it is
            kernels = None
        finally:
            if collecting:
                gc.enable()
        _loaded["kernels"] = kernels
    return _loaded["kernels"]


def fmix(values: np.ndarray, width: int) -> np.ndarray:
    """MurmurHash3's finalizer, a bijection that avalanches every bit (wrapping arithmetic),
    as datasketch pre-mixes each input hash in its "affine32" scheme."""
    s1, m1, s2, m2, s3 = _FMIX[width]
    with np.errstate(over="ignore"):
        values = values ^ (values >> s1)
        values = values * m1
        values = values ^ (values >> s2)
        values = values * m2
        return values ^ (values >> s3)


def permutations(num_perm: int, seed: int) -> np.ndarray:
    """The (a, b) pairs (2 x num_perm, uint32) of datasketch's `MinHash(num_perm, seed,
    scheme="affine32").permutations`: odd multipliers and offsets drawn from RandomState(seed)."""
    generator = np.random.RandomState(seed)
    a = generator.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = generator.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return np.array([a, b])


def word_hashes(tokens: Sequence[bytes]) -> np.ndarray:
    """64-bit xxh3 hash of every word (its UTF-8 bytes), in order."""
    return np.fromiter(map(xxhash.xxh3_64_intdigest, tokens), dtype=np.uint64, count=len(tokens))


def spaced_hashes(parts: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """`word_hashes` of the tokens of every part (tokens separated by spaces and holding no
    ASCII whitespace, as `tokens.word_bytes` gives a paragraph), in order, and how many
    tokens each part has: compiled, the words are never made into Python objects."""
    kernels = compiled(sum(map(len, parts)) // 6)  # ~6 bytes per English word and space
    if kernels is None:
        split = [part.split() for part in parts]
        return word_hashes(list(chain.from_iterable(split))), np.fromiter(map(len, split), np.int64, len(split))
    data = np.frombuffer(b" ".join(parts), dtype=np.uint8)
    ends = np.cumsum(np.fromiter(map(len, parts), np.int64, len(parts)) + 1) - 1
    hashes, counts, longs = kernels.token_hashes(data, ends)
    if len(longs):  # tokens longer than the kernel's XXH3 takes: xxhash's own hash
        at, lengths, index = longs.tolist()
        hashes[index] = word_hashes([data[a:a + n].tobytes() for a, n in zip(at, lengths, strict=True)])
    return hashes, counts


def sequence_keys(hashes: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """A 64-bit key of each run of consecutive word hashes (run i is lengths[i] long): equal
    word sequences get equal keys, and two different ones the same key with chance ~2**-64.

    Each word's hash plus its position in the run (times an odd constant) is avalanched,
    and the run's key is the wrapping sum of those, avalanched with the length: one numpy
    pass for every paragraph of a chunk, where a digest per paragraph (blake2b of the
    joined words) cost a Python call and a join each.
    """
    lengths = lengths.astype(np.int64)
    starts = np.cumsum(lengths) - lengths
    position = np.arange(len(hashes), dtype=np.uint64) - np.repeat(starts, lengths).astype(np.uint64)
    sums = np.zeros(len(lengths), dtype=np.uint64)
    with np.errstate(over="ignore"):
        mixed = fmix(hashes + position * _STEP, 64)
        nonempty = lengths > 0
        if nonempty.any():
            sums[nonempty] = np.add.reduceat(mixed, starts[nonempty])
        return fmix(sums + lengths.astype(np.uint64) * _STEP, 64)


def combine_ngrams(hashes: np.ndarray, n: int) -> np.ndarray:
    """32-bit hash of every run of `n` consecutive word hashes (len - n + 1 of them).

    The n hashes are folded as a polynomial in an odd constant (order matters: "a b c" and
    "c b a" differ), avalanched with the 64-bit MurmurHash3 finalizer, and the high 32 bits
    kept, the width datasketch's affine32 scheme takes.
    """
    count = len(hashes) - n + 1
    if count <= 0:
        return np.empty(0, dtype=np.uint32)
    kernels = compiled()
    if kernels is not None:
        return kernels.combine_ngrams(hashes, n)
    with np.errstate(over="ignore"):
        grams = hashes[:count].copy()
        for offset in range(1, n):
            grams *= _STEP
            grams += hashes[offset:offset + count]
        grams = fmix(grams, 64)
    return (grams >> _HIGH).astype(np.uint32)


def batch_shingles(token_lists: Sequence[Sequence[bytes]], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique shingle hashes of many paragraphs, flat, and where each one starts.

    Returns (hashes, starts): paragraph i owns hashes[starts[i]:starts[i + 1]] (the last runs
    to the end). Shingles never span two paragraphs; a paragraph under `n` words has none.
    """
    lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
    return shingle_sets(word_hashes(list(chain.from_iterable(token_lists))), lengths, n)


def shingle_sets(hashes: np.ndarray, lengths: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """`batch_shingles` from the word hashes of all paragraphs, in order, and their lengths."""
    owner = np.repeat(np.arange(len(lengths), dtype=np.uint64), lengths)
    grams = combine_ngrams(hashes, n)
    # The window starting at word k is a shingle when word k + n - 1 is in the same paragraph.
    first, last = owner[:len(grams)], owner[n - 1:]
    valid = first == last
    keyed = np.sort((first[valid] << _HIGH) | grams[valid].astype(np.uint64))
    first_of_run = np.ones(len(keyed), dtype=bool)
    np.not_equal(keyed[1:], keyed[:-1], out=first_of_run[1:])
    keyed = keyed[first_of_run]  # np.unique, without the hashing pass numpy 2 adds
    starts = np.searchsorted(keyed >> _HIGH, np.arange(len(lengths), dtype=np.uint64))
    return keyed.astype(np.uint32), starts


def minhash_signatures(hashes: np.ndarray, starts: np.ndarray, permutations: np.ndarray) -> np.ndarray:
    """datasketch affine32 MinHash values of many shingle sets: one row per set.

    Set i is hashes[starts[i]:starts[i + 1]]; `permutations` is a datasketch MinHash's
    (a, b) pair (2 x num_perm, uint32). An empty set gets datasketch's empty value (all
    ones). Equivalent to, per set, `MinHash(...).update_batch(set)`: fmix each hash, then
    a * h + b wrapping in uint32, then the minimum per permutation.
    """
    a, b = permutations
    sets = len(starts)
    out = np.full((sets, len(a)), _MAX32, dtype=np.uint32)
    if not len(hashes):
        return out
    ends = np.append(starts[1:], len(hashes))
    kernels = compiled()
    if kernels is not None:
        kernels.minimum_affine(fmix(hashes.astype(np.uint32), 32), starts, ends, a, b, out)
        return out
    nonempty = np.flatnonzero(ends > starts)
    starts, ends = starts[nonempty], ends[nonempty]
    mixed = fmix(hashes.astype(np.uint32), 32)
    step = max(1, BLOCK_CELLS // len(a))
    # One buffer for every slice: a fresh 4 MB array per slice costs its page faults each
    # time, which made this 4x slower on chunk-sized inputs.
    buffer = np.empty((len(a), min(step, len(mixed))), dtype=np.uint32)
    for low in range(0, len(mixed), step):
        high = min(low + step, len(mixed))
        # The sets this slice touches; the first and last may continue into other slices.
        first, last = np.searchsorted(ends, low, side="right"), np.searchsorted(starts, high)
        local = np.maximum(starts[first:last], low) - low
        # permutations x shingles: the minimum then runs along rows, 3x faster in numpy than
        # down the columns of the transposed block.
        block = buffer[:, :high - low]
        np.multiply.outer(a, mixed[low:high], out=block)
        block += b[:, None]
        rows = nonempty[first:last]
        out[rows] = np.minimum(out[rows], np.minimum.reduceat(block, local, axis=1).T)
    return out
