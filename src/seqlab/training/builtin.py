"""The built-in training schemes, registered in one place (``train.scheme`` names them)."""

from __future__ import annotations

from seqlab.training.mfd_scheme import MFD
from seqlab.training.noisy_student import NOISY_STUDENT
from seqlab.training.schemes import SCHEMES, register_scheme
from seqlab.training.ssl import SSL
from seqlab.training.supervised import SUPERVISED

__all__ = ["SCHEMES"]

for _scheme in (SUPERVISED, SSL, NOISY_STUDENT, MFD):
    register_scheme(_scheme)
