"""Multi-process job of tests/training/test_ddp.py (not a test module itself).

``python ddp_schemes_job.py CONFIG OUT`` runs ``seqlab train CONFIG --out OUT`` (the config's hardware section
asks for 2 DDP processes on the CPU): Lightning starts the second process by running this script again.
"""

from __future__ import annotations

import sys

import torch

from seqlab import pipeline
from seqlab.config import DnaRunConfig, load_config

if __name__ == "__main__":
    torch.set_num_threads(1)
    pipeline.train(load_config(sys.argv[1], DnaRunConfig), sys.argv[2])
