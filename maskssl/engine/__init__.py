"""The one training loop every modality shares (``loop.train``), and its parts: device, schedule,
optimizer, data order, checkpoints, metrics."""
