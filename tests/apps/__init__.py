"""Fixture apps written the way other platforms' public samples are (see corpus.py)."""
