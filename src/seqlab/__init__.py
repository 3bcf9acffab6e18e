"""seqlab: deep learning on DNA and protein sequences that learns from more than labels."""

__version__ = "0.1.0"
