"""Load one published index generation for answering, checked against its manifest."""

from __future__ import annotations

from pathlib import Path

from .errors import IndexFormatError
from .inverted import InvertedIndex
from .manifest import REBUILD_HINT, Manifest
from .segmented import LiveRecords


def load_generation(generation: Path, manifest: Manifest) -> tuple[InvertedIndex, LiveRecords]:
    """The engine and records of `generation`, memory-mapped and checked against `manifest`.

    Raises:
        IndexFormatError: the files cannot be loaded, or hold other counts than the manifest states.
    """
    try:
        engine = InvertedIndex.load(generation)
        names, vocabularies = [s.name for s in engine.segments], [s.vocabulary for s in engine.segments]
        records = LiveRecords.open(generation, names, engine.live, vocabularies)
    except IndexFormatError as err:
        if REBUILD_HINT in str(err):
            raise
        raise IndexFormatError(f"{str(err).removesuffix('; rebuild it')}; {REBUILD_HINT}") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError, OverflowError) as err:
        raise IndexFormatError(f"index in {generation} cannot be loaded ({err}); {REBUILD_HINT}") from None
    found = (engine.n_docs, records.live_passages, records.article_count)
    if found != (manifest.passages, manifest.passages, manifest.articles) or len(records) != engine.n_ids:
        raise IndexFormatError(
            f"index in {generation} holds {found[1]} passages of {found[2]} articles, not the "
            f"{manifest.passages} of {manifest.articles} its manifest states; {REBUILD_HINT}"
        )
    return engine, records
