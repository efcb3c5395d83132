"""Follow RSS and Atom feeds: fetch their articles into the corpus and remember what was fetched."""
