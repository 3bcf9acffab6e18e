"""Rebuild a trained model from a checkpoint file alone (predict, variant effects, fine-tuning).

The loader lives in :mod:`seqlab.models.pretrained` (beside the model folders); it is re-exported here.
"""

from __future__ import annotations

from seqlab.models.pretrained import load_checkpoint, load_model

__all__ = ["load_checkpoint", "load_model"]
