"""The one training loop every task shares (``loop.run_task``) and its parts: device and precision, data order
(``loader``), optimizer, schedule, stop flag, metrics, the run directory, and the ``Task`` interface that
pretraining (``maskssl.pretrain``) and fine-tuning (``maskssl.finetune``) implement."""
