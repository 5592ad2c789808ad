"""Which implementation the geometric ops use: pytorch3d's kernels when importable, else pure torch.

pytorch3d is probed once, at import. Every op takes ``backend``:

    "auto"       pytorch3d when it is importable, else pure torch (the default)
    "torch"      always the pure-torch implementation
    "pytorch3d"  pytorch3d, or an ImportError that says how to get it
"""

from __future__ import annotations

from typing import Any, Literal

from maskssl.errors import ConfigError

Backend = Literal["auto", "torch", "pytorch3d"]

pytorch3d_ops: Any
pytorch3d_loss: Any
try:  # a broken binary install raises OSError from its shared libraries rather than ImportError
    import pytorch3d.loss as pytorch3d_loss
    import pytorch3d.ops as pytorch3d_ops
except (ImportError, OSError):
    pytorch3d_ops = pytorch3d_loss = None

HAS_PYTORCH3D = pytorch3d_ops is not None
"""Whether pytorch3d imported (sample_farthest_points, knn_points and chamfer_distance are then used)."""


def use_pytorch3d(backend: Backend) -> bool:
    """Resolve ``backend`` to a yes/no for pytorch3d; "pytorch3d" without it installed raises ImportError."""
    if backend == "auto":
        return HAS_PYTORCH3D
    if backend == "torch":
        return False
    if backend == "pytorch3d":
        if not HAS_PYTORCH3D:
            raise ImportError(
                "backend='pytorch3d' but pytorch3d is not importable; install it "
                "(https://github.com/facebookresearch/pytorch3d/blob/main/INSTALL.md) or use backend='auto'"
            )
        return True
    raise ConfigError(f"backend must be 'auto', 'torch' or 'pytorch3d', got {backend!r}")
