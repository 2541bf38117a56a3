"""The operations console: large-table admin helpers and the read-only migrations page."""
