"""The signal modality's config sections: ``data`` (``SignalData``) and ``model`` (``SignalModel``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SignalData:
    """The ``data`` section.

    Attributes:
        samples: signals in split "train".
        test_samples: signals in split "test" (drawn with seed + 1).
        length: samples per signal.
        classes: signal classes (pairs of frequencies), 1 to 8.
        noise: standard deviation of the added Gaussian noise.
        seed: seed of split "train".
    """

    samples: int = 512
    test_samples: int = 128
    length: int = 64
    classes: int = 4
    noise: float = 0.05
    seed: int = 0


@dataclass
class SignalModel:
    """The ``model`` section.

    Attributes:
        patch_size: p, samples per window (token); must divide ``data.length``.
    """

    patch_size: int = 4
