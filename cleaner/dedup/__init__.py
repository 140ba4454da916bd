"""Dedup wing: fingerprints (exact keys, shingles, MinHash), the index seam and its backends,
the batched lookups, and the ordered decide stage (first seen wins)."""
