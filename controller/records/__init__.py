"""Session records: the SQLite store, exports, imports and reports."""
