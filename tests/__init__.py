"""The article-qa test suite: an importable package, so that shared fakes are imported by name."""
