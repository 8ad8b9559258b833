"""Integration tests: real files, real processes."""
