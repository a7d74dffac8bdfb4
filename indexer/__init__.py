"""The indexer: the document model and the index backends (SQLite FTS5 now; Elasticsearch next)."""
