"""maskssl-plugin-template: a checkerboard masker and a 1-D signal modality for maskssl.

Nothing here registers itself on import: maskssl finds the components through the entry points in
pyproject.toml (``maskssl plugins list`` shows them) and imports a module only when its name is used.
"""

from maskssl_template.decoder import SignalDecoder
from maskssl_template.encoder import SignalEncoder
from maskssl_template.masker import CheckerboardMasker
from maskssl_template.modality import SignalModality

__version__ = "0.1.0"

__all__ = ["CheckerboardMasker", "SignalDecoder", "SignalEncoder", "SignalModality"]
