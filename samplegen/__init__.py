"""Deterministic sample data (a Common Crawl-like WARC crawl, text sources, classifier examples) that the
demo and the tests use; not part of the pipeline's product path."""
