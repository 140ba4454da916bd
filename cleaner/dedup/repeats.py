"""Repeats inside one document, found as a fresh `Index` of its kept paragraphs would find
them, without building one (the decide stage and the sentence windows use it per document)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np

from cleaner.dedup.columns import Columns
from cleaner.dedup.index import KEY_CAP, Found, Match, best_verified, sure_bands, to_verify
from cleaner.record import Fingerprint, Ref

Signer = Callable[[np.ndarray], np.ndarray]


class InDocumentRepeats:
    """The kept paragraphs of one document so far that can repeat one another (`local` rows
    of `columns`): `find` answers exactly as a fresh `Index` holding all its kept paragraphs
    would (the earliest exact copy, else the verified candidate of highest Jaccard, the
    earliest on a tie, within the same bounds); the others can match none of them, nor they
    it. Exact keys go in a dict, rows in `columns.shared` in the dict of band keys."""

    def __init__(self, threshold: float, signer: Signer, columns: Columns) -> None:
        self.threshold = threshold
        self._signer = signer
        self._columns = columns
        self._sure = sure_bands(columns.banding, threshold)
        self._exact: dict[int, Ref] = {}
        self._by_band: dict[int, list[int]] = {}  # band key -> the first KEY_CAP added under it (order added)
        self._kept: list[tuple[Ref, Fingerprint]] = []
        self.capped = 0  # lookups whose verification budget left candidates out

    def find(self, row: int) -> Match | None:
        fp = self._columns.fps[row]
        ref = self._exact.get(fp.key)
        if ref is not None:
            return Match(ref, 1.0, 1.0, exact=True)
        band_keys = self._columns.shared.get(row)
        if band_keys is None:
            return None
        shared = Counter(order for key in band_keys for order in self._by_band.get(key, ()))
        orders = sorted(shared)  # the earliest first, as slots in an index
        orders, cut = to_verify(Found(-1, orders, [shared[order] for order in orders]), self._sure)
        self.capped += cut
        kept = [self._kept[order][1].shingles for order in orders]
        lengths = np.array([len(k) for k in kept], dtype=np.intp)
        flat = np.concatenate(kept) if kept else np.empty(0, dtype=np.uint32)
        best = best_verified(fp.shingles, orders, flat, lengths, self.threshold)
        if best is None:
            return None
        similarity, order = best
        ref, match = self._kept[order]
        estimated = float(np.mean(self._signer(match.shingles.astype(np.uint32)) == fp.signature))
        return Match(ref, similarity, estimated)

    def add(self, row: int, ref: Ref) -> None:
        fp = self._columns.fps[row]
        self._exact.setdefault(fp.key, ref)
        by_band, order = self._by_band, len(self._kept)
        for key in self._columns.shared.get(row, ()):
            orders = by_band.get(key)
            if orders is None:
                by_band[key] = [order]
            elif len(orders) < KEY_CAP:
                orders.append(order)
        self._kept.append((ref, fp))
