"""Thin command-line faces over the engine's Python API."""
