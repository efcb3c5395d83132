"""The engine's exceptions; every message is safe to show to users.

ArticleQAError
├── CorpusError            a corpus path that is missing or unreadable
│   └── EmptyCorpusError   a corpus with no usable article
├── IndexDirectoryError    an index directory that is a file, unwritable, or holds other things
├── IndexWriteError        an index that could not be written (disk full, read-only folder)
├── IndexMissingError      no index has been built yet
├── IndexFormatError       an index that is corrupt, foreign or from another version
└── QuestionError          a question the engine refuses (too long, nothing to search)
"""

from __future__ import annotations


class ArticleQAError(Exception):
    """Base class: `str(error)` is one line that says what is wrong and what to do."""


class CorpusError(ArticleQAError):
    """The corpus path cannot be used."""


class EmptyCorpusError(CorpusError):
    """The corpus holds no usable article."""


class IndexDirectoryError(ArticleQAError):
    """The configured index directory cannot be used: a configuration error."""


class IndexWriteError(ArticleQAError):
    """A new index could not be written; any previous index is left as it was."""


class IndexMissingError(ArticleQAError):
    """No index has been built in the index directory."""


class IndexFormatError(ArticleQAError):
    """The index on disk is corrupt, incomplete or was built with other settings."""


class QuestionError(ArticleQAError):
    """The question cannot be answered as asked."""
