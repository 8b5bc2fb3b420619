"""Typed configuration: the platform (where things live) and the model files (what a model is)."""
