"""Modality-agnostic regularizers; each reads the views' outputs and returns a scalar."""
