"""matplotlib, optional: a figure on its own Agg canvas (pyplot's global backend stays untouched)."""

from __future__ import annotations

from typing import Any

from maskssl.errors import MaskSSLError


def new_figure(width: float, height: float, dpi: int = 120) -> Any:
    """A ``matplotlib.figure.Figure`` attached to an Agg canvas; MaskSSLError when matplotlib is missing."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:
        raise MaskSSLError("plotting needs matplotlib: pip install matplotlib") from err
    figure = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(figure)
    return figure
