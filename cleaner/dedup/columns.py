"""The fingerprints of a batch of documents (its paragraphs, or its documents) as arrays,
for the batched decisions of cleaner.dedup.batch.

`Columns` holds exact keys, the LSH band keys of the signed rows (one numpy pass for the
batch), and which rows share an exact key or a band key with another row: a sort,
O(n log n), so a document of 100,000 copies of a paragraph stays fast. Only rows that share
a key can be candidates of one another.
"""

from __future__ import annotations

from itertools import repeat
from operator import attrgetter, is_not

import numpy as np

from cleaner.dedup.index import Banding
from cleaner.record import Fingerprint, Ref

_NONE = np.empty(0, dtype=np.int64)


class Columns:
    """The fingerprints `fps` of a batch as arrays. Row i is paragraph `paragraph[i]` (-1: the
    whole document) of documents[owner[i]] (source, id). `shared` maps a row that shares a
    band key with another row to its band keys (like the index, a key matches whatever band
    it came from); `local` marks the rows with an exact key or a band key that another row
    of the same document has (only those can repeat one another inside a document)."""

    def __init__(self, banding: Banding, fps: list[Fingerprint], owner: np.ndarray, paragraph: np.ndarray,
                 documents: list[tuple[str, str]]) -> None:
        self.banding, self.fps, self.owner, self.paragraph, self.documents = banding, fps, owner, paragraph, documents
        n = len(fps)
        self.keys = np.fromiter(map(attrgetter("key"), fps), dtype=np.uint64, count=n)
        self.sketched = np.flatnonzero(_present(fps, "signature") & _present(fps, "shingles"))  # signed(fp)
        self.band_row = np.full(n, -1, dtype=np.intp)
        self.band_row[self.sketched] = np.arange(len(self.sketched))
        if len(self.sketched):
            signatures = [fps[i].signature for i in self.sketched.tolist()]
            self.band_keys = banding.keys(np.concatenate(signatures).reshape(len(signatures), -1))  # np.stack, faster
        else:
            self.band_keys = np.empty((0, banding.bands), dtype=np.uint32)
        across, inside = _sharing(self.band_keys, owner[self.sketched])
        self.shared = {int(self.sketched[row]): self.band_keys[row].tolist() for row in across.tolist()}
        self.local = repeated(self.keys, owner)
        self.local[self.sketched[inside]] = True

    def ref(self, row: int) -> Ref:
        source, doc_id = self.documents[self.owner[row]]
        paragraph = int(self.paragraph[row])
        return Ref(source, doc_id, None if paragraph < 0 else paragraph)

    def bands_of(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The band keys of the signed ones of `rows`, and their offsets in `rows`."""
        at = self.band_row[rows]
        offsets = np.flatnonzero(at >= 0)
        return self.band_keys[at[offsets]], offsets


def _present(fps: list[Fingerprint], name: str) -> np.ndarray:
    """True where the attribute `name` of fps[i] is not None (C loops: called per batch row)."""
    return np.fromiter(map(is_not, map(attrgetter(name), fps), repeat(None)), dtype=bool, count=len(fps))


def repeated(keys: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
    """True for each key that another one equals (of the same group, with `groups`)."""
    order = np.argsort(keys, kind="stable") if groups is None else np.lexsort((keys, groups))
    same = keys[order][1:] == keys[order][:-1]
    if groups is not None:
        same &= groups[order][1:] == groups[order][:-1]
    same = np.flatnonzero(same)
    repeated = np.zeros(len(keys), dtype=bool)
    repeated[order[same]] = repeated[order[same + 1]] = True
    return repeated


def _sharing(band_keys: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of `band_keys` with a key that another row also has, and those with a key
    that another row of the same group has (`groups`: ascending, one per row), ascending."""
    if len(band_keys) < 2:
        return _NONE, _NONE
    # Every (key, row) as one uint64, sorted: equal keys side by side, then by row, so rows
    # of one group with the same key are side by side too. One sort, no lexsort.
    rows = np.repeat(np.arange(len(band_keys), dtype=np.uint64), band_keys.shape[1])
    packed = np.sort((band_keys.ravel().astype(np.uint64) << np.uint64(32)) | rows)
    flat, rows = packed >> np.uint64(32), (packed & np.uint64(0xFFFFFFFF)).astype(np.intp)
    across = np.flatnonzero((flat[1:] == flat[:-1]) & (rows[1:] != rows[:-1]))
    inside = across[groups[rows[across]] == groups[rows[across + 1]]]
    return _either(len(band_keys), rows, across), _either(len(band_keys), rows, inside)


def _either(n: int, rows: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """The rows at `pairs` or just after them, ascending, without repeats."""
    marked = np.zeros(n, dtype=bool)
    marked[rows[pairs]] = True
    marked[rows[pairs + 1]] = True
    return np.flatnonzero(marked)
