"""Evaluation of frozen features: linear probe, weighted kNN, singular spectrum, alignment and uniformity."""
