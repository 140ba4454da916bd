"""Text wing: bytes and strings in, text out, one document at a time and pure: decode, detect,
repair (ftfy), normalise, segment into paragraphs, and the limits that reject pathological text."""
