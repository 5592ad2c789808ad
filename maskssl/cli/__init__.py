"""The ``maskssl`` command line: one module per command group, ``main`` assembles them.

    maskssl train --modality image                          # the modality's default recipe
    maskssl train --config configs/image/digits_umae.yaml train.epochs=5 masker.ratio=0.6
    maskssl train --out runs/x --resume                     # continue a run from its last checkpoint
    maskssl train --import mymodule masker.name=mine        # use components registered in your module
    maskssl finetune runs/x                                 # fine-tune the encoder (the modality's default recipe)
    maskssl finetune runs/x --random-init                   # the same recipe from random weights (baseline)
    maskssl eval runs/x                                     # linear probe, kNN, effective rank, alignment, uniformity
    maskssl sweep --modality image --ratios 0.25,0.5,0.75,0.9 --out runs/sweep
    maskssl export runs/x --out encoder.safetensors         # encoder weights (safetensors) + JSON metadata
    maskssl export runs/x --format timm --out vit.safetensors   # a timm VisionTransformer state dict + JSON
    maskssl data check --modality image data.dataset=imagefolder data.root=photos   # unreadable samples
    maskssl config show --config configs/image/digits_umae.yaml train.epochs=3   # the resolved config
    maskssl plugins list

Usage errors print one line and exit 2. torch and the plugins are imported only by the commands that
need them, so ``maskssl --help`` and ``maskssl plugins list`` answer at once.
"""

from maskssl.cli.main import main

__all__ = ["main"]
