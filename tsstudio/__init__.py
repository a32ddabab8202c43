"""tsstudio: a workbench for self-supervised VQ-VAE time-series tokenizers and MaskGIT priors."""

__version__ = "0.1.0"
