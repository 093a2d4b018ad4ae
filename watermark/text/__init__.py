"""Text watermarks: schemes, the generation wrapper, detection and the embedded model."""

# Importing the scheme modules registers them.
from watermark.text import gumbel as gumbel
from watermark.text import kgw as kgw
from watermark.text import kgw_transformers as kgw_transformers
from watermark.text import synthid as synthid
from watermark.text import unigram as unigram
from watermark.text.detector import Span, TextDetection, TextWatermarkDetector
from watermark.text.generate import Generation, generate
from watermark.text.model import LanguageModel, load_model, load_tokenizer
from watermark.text.scheme import TextScheme, scheme_for_key, scheme_names

__all__ = [
    "Generation",
    "LanguageModel",
    "Span",
    "TextDetection",
    "TextScheme",
    "TextWatermarkDetector",
    "generate",
    "load_model",
    "load_tokenizer",
    "scheme_for_key",
    "scheme_names",
]
