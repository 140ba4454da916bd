"""An index backend written the way a new one is added: this module, and one line in
`cleaner.dedup.index.BACKENDS` (the test adds the line). Plain dicts and lists: slow, but
an independent implementation of the same answers."""

from collections.abc import Sequence
from typing import Any

import numpy as np

from cleaner.dedup.fingerprint import jaccard
from cleaner.dedup.index import KEY_CAP, Found, Index, Match, signed
from cleaner.record import Fingerprint, Ref


class DictIndex(Index):
    def __init__(self, threshold, banding, signer) -> None:
        super().__init__(threshold, banding, signer)
        self.refs: list[Ref] = []
        self.shingles: list[np.ndarray | None] = []
        self.exact: dict[int, list[int]] = {}
        self.bands: dict[int, list[int]] = {}

    def __len__(self) -> int:
        return len(self.refs)

    def lookup_many(self, fps: Sequence[Fingerprint], band_keys: np.ndarray | None = None) -> list[Found]:
        found = []
        for fp in fps:
            exact = min(self.exact.get(fp.key, [-1]))
            keys = self.banding.keys(fp.signature[None, :])[0].tolist() if signed(fp) else []
            found.append(Found(exact, sorted({slot for key in keys for slot in self.bands.get(key, [])})))
        return found

    def band_load(self, band_keys: np.ndarray) -> np.ndarray:
        return np.array([min(len(self.bands.get(int(key), [])), KEY_CAP) for key in band_keys], dtype=np.int64)

    def verify(self, fp: Fingerprint, found: Found) -> Match | None:
        if found.exact >= 0:
            return Match(self.refs[found.exact], 1.0, 1.0, exact=True)
        scored = [(jaccard(fp.shingles, self.shingles[slot]), slot) for slot in found.candidates
                  if signed(fp) and self.shingles[slot] is not None]
        best = max((s for s in scored if s[0] >= self.threshold), key=lambda s: (s[0], -s[1]), default=None)
        if best is None:
            return None
        estimated = float(np.mean(self.signer(self.shingles[best[1]]) == fp.signature))
        return Match(self.refs[best[1]], best[0], estimated)

    def store(self, refs: Sequence[Ref], fps: Sequence[Fingerprint]) -> int:
        first = len(self.refs)
        self.refs.extend(refs)
        self.shingles.extend(np.array(fp.shingles, dtype=np.uint32) if signed(fp) else None for fp in fps)
        return first

    def index_keys(self, first: int, fps: Sequence[Fingerprint], band_keys: np.ndarray | None = None) -> None:
        for slot, fp in enumerate(fps, first):
            self.exact.setdefault(fp.key, []).append(slot)
            if signed(fp):
                for key in self.banding.keys(fp.signature[None, :])[0].tolist():
                    self.bands.setdefault(key, []).append(slot)

    def snapshot(self) -> Any:
        return {"refs": self.refs, "shingles": self.shingles, "exact": self.exact, "bands": self.bands}

    def restore(self, state: Any) -> None:
        self.__dict__.update(state)
