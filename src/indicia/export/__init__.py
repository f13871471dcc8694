"""Exports: one module per output format."""
