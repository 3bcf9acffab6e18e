"""The ``lifted`` source: homologs of the windows of the sources before it (see :mod:`seqlab.data.homologs`)."""

from seqlab.data.homologs import build_lifted_source
from seqlab.data.sources import register_source

register_source("lifted")(build_lifted_source)
