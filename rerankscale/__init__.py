"""rerankscale: scaling laws for cross-encoder rerankers (arXiv 2603.04816), reproducible."""

__version__ = "0.1.0"
