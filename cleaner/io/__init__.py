"""I/O wing: sources (folders, record files, streams), sinks (text files, shards, stdout), the
logs, atomic files, the one safe-path check, compression."""
