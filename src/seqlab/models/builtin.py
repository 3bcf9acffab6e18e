"""The built-in trunks and heads, registered in one place.

``seqlab.models`` imports this module, so the registries (``seqlab.models.trunks.TRUNKS``,
``seqlab.models.heads.HEADS``) hold every built-in before any model is built. The modules that define
them import nothing from here and never register themselves; a trunk or head of your own is added the
same way from your code: ``register_trunk("mine")(MyTrunk)`` with its config section
(``seqlab.config.register_trunk_config``).
"""

from __future__ import annotations

from seqlab.models.heads import MultiTaskLinearHead, register_head
from seqlab.models.metadata_head import MetadataHead
from seqlab.models.profile_head import ProfileHead
from seqlab.models.transformer import HFTrunk, TransformerTrunk
from seqlab.models.trunks import BasenjiTrunk, DeepBindTrunk, DeepSEATrunk, register_trunk

__all__: list[str] = []

for _arch, _trunk in (
    ("deepbind", DeepBindTrunk),
    ("deepsea", DeepSEATrunk),
    ("basenji", BasenjiTrunk),
    ("transformer", TransformerTrunk),
    ("hf", HFTrunk),
):
    register_trunk(_arch)(_trunk)
for _kind, _head in (("linear", MultiTaskLinearHead), ("metadata", MetadataHead), ("profile", ProfileHead)):
    register_head(_kind)(_head)
