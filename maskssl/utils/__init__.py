"""Helpers for everything: atomic file writes (``files``), the process group (``distributed``), randomness keyed
by (seed, epoch, step, sample) (``keyed_random``), and checking option values against type hints (``typecheck``)."""
