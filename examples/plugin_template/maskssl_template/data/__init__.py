"""The signal modality's data: synthetic 1-D signals generated offline from a seed."""

from maskssl_template.data.signals import FREQUENCIES, make_signals

__all__ = ["FREQUENCIES", "make_signals"]
