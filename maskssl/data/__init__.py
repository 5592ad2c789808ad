"""Helpers for data sets of every modality: the seeded, stratified held-out split (``holdout``), sample value
checks (``checks``), and reading every sample once to list the unreadable ones (``scan``)."""
