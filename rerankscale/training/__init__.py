"""Training: one run (size × objective × seed), checkpointed on an exposure schedule.

Stage 3 of the pipeline (data → models → **training** → evaluation → scaling → reporting →
orchestration). The step arithmetic (batch sizes, step counts, checkpoints, learning rate) is
``rerankscale.schedule`` at the top, shared with pretraining; the modules here need torch, so
this ``__init__`` imports nothing: import the module you need.

- ``train``: the training loop on CPU, one GPU or DDP (``python -m rerankscale.training.train``):
  ``train``, ``main``;
- ``losses``: one class per objective (pointwise BCE, RankNet, ListNet, LambdaLoss, ListMLE):
  ``make_loss``;
- ``batches``: the resumable stream of query groups and its micro-batches and shards:
  ``GroupStream``, ``plan_step``;
- ``checkpoint``: the run directory on disk (config, exposure checkpoints, resume state,
  status): ``write_config``, ``save_checkpoint``, ``list_checkpoints``, ``read_status``.
"""
