"""cleaner.dedup.index: the decide stage talks to any backend through the Index seam; a new
backend is one module and one registry line, and gives the same decisions."""

import pickle

from cleaner.config import Config
from cleaner.dedup import index
from cleaner.dedup.decide import Deduplicator
from cleaner.io.sources import FolderSource
from cleaner.run.chain import compose, document_steps, prepare
from tests.helpers import FIXTURES, SHARED

BBC = SHARED / "data" / "bbc"


def decisions(docs) -> list:
    return [(doc.source, repr(doc.removal), [repr(p.removal) for p in doc.paragraphs]) for doc in docs]


def prepared(config: Config):
    folder = BBC / "business" if BBC.is_dir() else FIXTURES / "demo"  # real articles with real copies
    return list(compose(FolderSource(folder, config).documents(), prepare(document_steps(config))))


def test_a_new_backend_registered_in_one_line_decides_as_the_memory_index(monkeypatch):
    monkeypatch.setitem(index.BACKENDS, "dicts", "tests.dedup.dict_index:DictIndex")  # the one line
    config = Config()
    by_memory, by_dicts = prepared(config), prepared(config)
    list(Deduplicator(config)(by_memory))
    list(Deduplicator(config, backend="dicts")(by_dicts))
    removed = sum(p.removal is not None for doc in by_memory for p in doc.paragraphs)
    assert removed > 0 and decisions(by_dicts) == decisions(by_memory)


def test_a_snapshot_of_either_backend_resumes_to_the_same_decisions(monkeypatch):
    monkeypatch.setitem(index.BACKENDS, "dicts", "tests.dedup.dict_index:DictIndex")
    config = Config()
    for backend in ("memory", "dicts"):
        whole, cut = prepared(config), prepared(config)
        list(Deduplicator(config, backend=backend)(whole))
        first = Deduplicator(config, backend=backend)
        half = len(cut) // 2
        list(first(cut[:half]))
        second = Deduplicator(config, backend=backend)
        second.restore(pickle.loads(pickle.dumps(first.snapshot())))
        list(second(cut[half:]))
        assert decisions(cut) == decisions(whole)


def test_an_unknown_backend_is_refused_by_name():
    import pytest

    from cleaner.errors import ConfigError

    with pytest.raises(ConfigError, match="index backend must be one of memory"):
        Deduplicator(Config(), backend="cassandra")
