"""The archive: immutable, compressed segment files of the log's oldest events."""
