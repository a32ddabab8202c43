"""Neural networks of the method: STFT, encoder/decoder, quantiser, tokenizer."""

from tsstudio.models.quantizer import Quantizer, codebook_statistics, perplexity
from tsstudio.models.stft import istft, stft
from tsstudio.models.tokenizer import TokenGrid, Tokenizer, TokenizerOutput, token_grid

__all__ = [
    "Quantizer",
    "TokenGrid",
    "Tokenizer",
    "TokenizerOutput",
    "codebook_statistics",
    "istft",
    "perplexity",
    "stft",
    "token_grid",
]
