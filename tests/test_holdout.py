"""The held-out split of user data without train / test folders."""

from __future__ import annotations

import pytest

from maskssl.data.holdout import held_out_indices
from maskssl.errors import ConfigError


def test_each_class_gives_its_share_and_the_splits_cover_the_set_once() -> None:
    labels = [0] * 30 + [1] * 10 + [None] * 5
    test = held_out_indices(labels, 0.2, seed=0, split="test")
    train = held_out_indices(labels, 0.2, seed=0, split="train")
    assert sorted(test + train) == list(range(45)) and not set(test) & set(train)
    assert [labels[i] for i in test].count(0) == 6 and [labels[i] for i in test].count(1) == 2
    assert [labels[i] for i in test].count(None) == 1


def test_the_split_is_a_function_of_the_seed() -> None:
    labels = [None] * 50
    assert held_out_indices(labels, 0.1, 3, "test") == held_out_indices(labels, 0.1, 3, "test")
    assert held_out_indices(labels, 0.1, 3, "test") != held_out_indices(labels, 0.1, 4, "test")


def test_a_class_of_two_keeps_one_sample_on_each_side_and_a_class_of_one_trains() -> None:
    test = held_out_indices([0, 0, 1], 0.1, 0, "test")
    assert len(test) == 1 and test[0] in (0, 1)
    assert held_out_indices([0, 0, 1], 0.0, 0, "test") == []


def test_a_fraction_outside_zero_one_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="held-out fraction 1 must be in"):
        held_out_indices([0, 1], 1, 0, "test")
