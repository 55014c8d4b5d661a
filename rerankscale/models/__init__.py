"""Models: the cross-encoders of the study and the pretrained mini-suite they start from.

Stage 2 of the pipeline (data → **models** → training → evaluation → scaling → reporting →
orchestration). Shapes and counts are pure Python; the encoders themselves need torch and
transformers, so this ``__init__`` imports nothing: import the module you need.

- ``shapes``: the size-string → (depth, width) rule, parameter counts, FLOPs (torch-free):
  ``Shape``, ``shape_for``, ``flops_per_token``, ``ETTIN_REGISTRY``;
- ``modernbert``: the ModernBERT config every local encoder shares: ``modernbert_config``,
  ``parameter_counts``, ``quiet_transformers``;
- ``tokenizer``: word-level and WordPiece tokenizers for the local encoders (torch-free):
  ``get_tokenizer``, ``SUITE_DIR``;
- ``encoding``: (query, passage) pairs as padded tensors, token ids cached per text:
  ``PairEncoder``, ``TokenCache``, ``length_buckets`` (training and evaluation both use it);
- ``pretrain``: MLM pretraining of a suite member: ``pretrain_mlm``, ``suite_member``;
- ``suite``: the shipped pretrained mini-suite (``suite/``): ``build_suite``, ``suite_spec``,
  ``member_path``, ``check_world``, ``SUITES``;
- ``crossencoder``: build, save, load and count a cross-encoder of any family (``scratch``,
  ``suite``, ``hf``): ``build_model``, ``save_model``, ``load_model``, ``model_shape``.
"""
