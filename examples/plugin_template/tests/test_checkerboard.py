"""The checkerboard masker: the conformance kit, and what makes it a checkerboard."""

from __future__ import annotations

import pytest
import torch

from maskssl import Tokens, registry
from maskssl.errors import ConfigError
from maskssl.testing import check_masker
from maskssl_template import CheckerboardMasker


def tokens(batch: int, length: int, grid: tuple[int, ...] | None) -> Tokens:
    """Tokens [B, L, 1] laid out on ``grid``."""
    return Tokens(inputs=None, targets=torch.zeros(batch, length, 1), grid=grid)


@pytest.mark.parametrize("cell", [1, 2, 3])
def test_conforms_with_every_cell_size(cell: int) -> None:
    check_masker({"name": "checkerboard", "cell": cell}, ratios=[0.3, 0.5, 0.8])


def test_conforms_on_one_dimensional_tokens() -> None:
    def line(batch: int, length: int, device: torch.device) -> Tokens:
        return Tokens(inputs=None, targets=torch.zeros(batch, length, 4, device=device), grid=(length,))

    check_masker(CheckerboardMasker(0.75), tokens=line)
    check_masker(CheckerboardMasker(0.75), tokens=lambda b, n, d: Tokens(None, torch.zeros(b, n, 4, device=d)))


def test_entry_point_names_the_distribution() -> None:
    entry = registry.entries("masker")["checkerboard"]
    assert entry.distribution == "maskssl-plugin-template" and not entry.is_local


def test_half_ratio_hides_one_colour_of_a_grid() -> None:
    mask = CheckerboardMasker(0.5)(tokens(64, 24, (4, 6)), torch.Generator().manual_seed(0)).view(64, 4, 6)
    rows, cols = torch.meshgrid(torch.arange(4), torch.arange(6), indexing="ij")
    black = (rows + cols) % 2 == 1
    per_sample = [bool((m == black).all()) or bool((m == ~black).all()) for m in mask]
    assert all(per_sample)
    first = mask.flatten(1)[:, 1]  # the colour hidden first is drawn per sample: both occur
    assert 0 < int(first.sum()) < 64


def test_cells_group_neighbouring_tokens() -> None:
    mask = CheckerboardMasker(0.5, cell=2)(tokens(8, 8, (8,)), torch.Generator().manual_seed(1))
    for row in mask.tolist():
        assert row in ([True, True, False, False] * 2, [False, False, True, True] * 2)


def test_high_ratio_hides_the_first_colour_then_random_others() -> None:
    mask = CheckerboardMasker(0.75)(tokens(200, 16, (16,)), torch.Generator().manual_seed(2))
    colour = torch.arange(16) % 2
    hidden_even, hidden_odd = mask[:, colour == 0].sum(dim=1), mask[:, colour == 1].sum(dim=1)
    assert (torch.maximum(hidden_even, hidden_odd) == 8).all()  # one colour entirely
    assert (torch.minimum(hidden_even, hidden_odd) == 4).all()  # 12 - 8 of the other
    assert len({tuple(row) for row in mask.tolist()}) > 50  # which others is random: masks differ per sample


def test_rejects_a_grid_that_does_not_fit_and_a_bad_cell() -> None:
    with pytest.raises(ValueError, match=r"grid=\(3, 3\) does not lay out the 10 tokens"):
        CheckerboardMasker(0.5)(tokens(1, 10, (3, 3)))
    with pytest.raises(ConfigError, match="masker.cell=0 must be at least 1"):
        CheckerboardMasker(0.5, cell=0)
