"""The metadata-conditioned head of MFD: each experiment's output weights computed from its metadata.

The trunk's features z_j (F,) of sequence j are cut into one contiguous subspace per factor group g
(default: ``biological`` = target, biosample; ``technical`` = assay, lab, date), z_j = [z_j^1, ..., z_j^G].
Experiment e's metadata m_e (encoded by a :class:`~seqlab.models.metadata.MetadataEncoder`, D dims)
gives, per group, the weights w_e^g = net_g(m_e restricted to g's columns) (size_g,), and a bias
b_e = <a, m_e> + a_0 from all its metadata; then

    logit(j, e) = sum_g <z_j^g, w_e^g> + b_e.

Because weights and bias are functions of the metadata only, the head scores experiments that were
never trained (imputation): ``logits_for(features, encode_metadata(records))`` for any metadata rows
whose values the encoders know. The training experiments' encoded metadata is a buffer, so
``forward(features)`` gives (B, T) logits like every other head.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from seqlab.config.mfd import MetadataColumnConfig, MetadataHeadConfig
from seqlab.models.heads import Head
from seqlab.models.metadata import MetadataEncoder, MetadataError

__all__ = ["ImputationHead", "MetadataHead", "build_metadata_head", "mlp", "resolve_sizes"]


def resolve_sizes(sizes: Mapping[str, float] | None, groups: Sequence[str], in_features: int) -> dict[str, int]:
    """Subspace size per group, summing to ``in_features``.

    ``sizes`` None: equal split (the remainder goes to the first groups, one feature each). Integers
    summing to ``in_features``: taken as they are. Otherwise ratios summing to 1: size = round(ratio * F)
    for every group but the last, which takes the rest. Every size must come out >= 1.

    Raises:
        ValueError: sizes that are neither (with the numbers), or a group left with no feature.
    """
    groups = list(groups)
    if sizes is None:
        base, extra = divmod(in_features, len(groups))
        out = {group: base + (i < extra) for i, group in enumerate(groups)}
    else:
        values = [float(sizes[group]) for group in groups]
        if all(v.is_integer() for v in values) and sum(values) == in_features:
            out = {group: int(v) for group, v in zip(groups, values, strict=True)}
        elif abs(sum(values) - 1.0) < 1e-6:
            counts = [round(v * in_features) for v in values[:-1]]
            out = dict(zip(groups, [*counts, in_features - sum(counts)], strict=True))
        else:
            raise ValueError(
                f"model.head.sizes {dict(sizes)}: give feature counts summing to the trunk's {in_features} "
                "features, or ratios summing to 1"
            )
    empty = [group for group, size in out.items() if size < 1]
    if empty:
        raise ValueError(f"model.head.sizes leaves group(s) {empty} without features ({out} of {in_features})")
    return out


def mlp(in_dim: int, out_dim: int, hidden: int) -> nn.Module:
    """A linear map (``hidden`` 0), else Linear -> ReLU -> Linear with ``hidden`` units."""
    if hidden == 0:
        return nn.Linear(in_dim, out_dim)
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, out_dim))


class MetadataHead(Head):
    """Features float32 (B, F) -> logits float32 (B, T) with weights computed from task metadata.

    Args:
        in_features: F, the trunk's feature count.
        encoder: a fitted metadata encoder (its vocabularies become part of the model).
        task_metadata: one record per task (experiment) in label-column order.
        groups: group name -> its columns (every column must be in ``encoder``); order kept, the first
            group is the biological one.
        sizes: group -> subspace size, resolved by :func:`resolve_sizes`.
        hidden: hidden units of each group's weight network (0: linear).

    The encoder, groups and sizes travel in the state dict as the buffer ``description`` (uint8, the
    UTF-8 JSON of :meth:`describe`, so safetensors model folders and checkpoints both carry the
    vocabularies), and the head is rebuilt from ``(config, data_params)`` by :func:`build_metadata_head`,
    which refits the same vocabularies from the stored task metadata; loading weights whose
    description differs is a :class:`MetadataError`.
    """

    def __init__(
        self,
        in_features: int,
        encoder: MetadataEncoder,
        task_metadata: Sequence[Mapping[str, Any]],
        groups: Mapping[str, Sequence[str]],
        sizes: Mapping[str, float] | None = None,
        hidden: int = 32,
    ) -> None:
        super().__init__(in_features, len(task_metadata))
        self.encoder = encoder
        self.groups = {str(g): list(columns) for g, columns in groups.items()}
        self.sizes = resolve_sizes(sizes, list(self.groups), in_features)
        slices = encoder.slices
        unknown = [c for columns in self.groups.values() for c in columns if c not in slices]
        if unknown:
            raise MetadataError(f"metadata head groups name column(s) {unknown} the encoder lacks ({encoder.names})")
        self.register_buffer("task_codes", torch.from_numpy(encoder.encode(task_metadata)), persistent=False)
        self.weight_nets = nn.ModuleDict()
        start = 0
        self.feature_slices: dict[str, slice] = {}
        for group, columns in self.groups.items():
            dims = torch.cat([torch.arange(slices[c].start, slices[c].stop) for c in columns])
            self.register_buffer(f"dims_{group}", dims, persistent=False)
            self.weight_nets[group] = mlp(int(dims.numel()), self.sizes[group], hidden)
            self.feature_slices[group] = slice(start, start + self.sizes[group])
            start += self.sizes[group]
        self.bias_net = nn.Linear(encoder.width, 1)
        self.register_buffer("description", self._description_bytes())
        self.register_load_state_dict_pre_hook(self._check_description)

    @classmethod
    def from_config(cls, config: Any, in_features: int, data_params: Any) -> MetadataHead:
        """Registry hook of the spine's ``build_head``: config section (or dict) and DataParams (or dict)."""
        section = config if isinstance(config, Mapping) else config.model_dump()
        records = data_params["task_metadata"] if isinstance(data_params, Mapping) else data_params.task_metadata
        return build_metadata_head(section, in_features, {"task_metadata": records})

    def vocabularies(self) -> dict[str, list[str]]:
        """Categorical (and year) column -> its training values, in encoding order."""
        return {encoder.column: list(encoder.vocabulary) for encoder in self.encoder.columns if encoder.vocabulary}

    # ----------------------------------------------------------------- metadata -> weights

    def encode_metadata(self, records: Sequence[Mapping[str, Any]]) -> torch.Tensor:
        """Encode metadata rows (dicts with the encoder's columns) as float32 (E, D) on the head's device."""
        return torch.from_numpy(self.encoder.encode(records)).to(self.task_codes.device)

    def group_weights(self, codes: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per group, the weights w_e^g float32 (E, size_g) of encoded metadata ``codes`` (E, D)."""
        return {g: net(codes[:, getattr(self, f"dims_{g}")]) for g, net in self.weight_nets.items()}

    def bias(self, codes: torch.Tensor) -> torch.Tensor:
        """The bias b_e float32 (E,) of encoded metadata ``codes`` (E, D)."""
        return self.bias_net(codes).squeeze(-1)

    def subspaces(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        """Cut features (B, F) into each group's subspace z^g (B, size_g) (views, no copy)."""
        return {g: features[:, part] for g, part in self.feature_slices.items()}

    def contributions(self, features: torch.Tensor, codes: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per group, c^g(j, e) = <z_j^g, w_e^g>: features (B, F), codes (E, D) -> float32 (B, E) each."""
        weights = self.group_weights(codes)
        return {group: z @ weights[group].T for group, z in self.subspaces(features).items()}

    def logits_for(self, features: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """logit(j, e) = sum_g <z_j^g, w_e^g> + b_e: features (B, F), codes (E, D) -> float32 (B, E)."""
        logits = self.bias(codes).unsqueeze(0)
        for part in self.contributions(features, codes).values():
            logits = logits + part
        return logits

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Map features float32 (B, F) to logits float32 (B, T) of the training experiments."""
        return self.logits_for(features, self.task_codes)

    # ----------------------------------------------------------------- serialisation

    def describe(self) -> dict[str, Any]:
        """Plain-JSON record of what the head needs besides its weights: encoder, groups, sizes."""
        return {"encoder": self.encoder.to_dict(), "groups": self.groups, "sizes": self.sizes}

    def _description_bytes(self) -> torch.Tensor:
        """uint8 (N,): the UTF-8 JSON of :meth:`describe` (keys sorted)."""
        text = json.dumps(self.describe(), sort_keys=True).encode()
        return torch.frombuffer(bytearray(text), dtype=torch.uint8).clone()

    @staticmethod
    def _check_description(module: nn.Module, state_dict: Mapping[str, Any], prefix: str, *args: Any) -> None:
        """Load hook: the saved description must equal the rebuilt one.

        Raises:
            MetadataError: the vocabularies (or groups, sizes) differ from those the head was built with.
        """
        saved = state_dict.get(prefix + "description")
        if saved is None:
            return  # a missing key is reported by load_state_dict itself
        mine = module.description
        if saved.shape != mine.shape or not torch.equal(saved.cpu(), mine.cpu()):
            saved_text = bytes(saved.cpu().numpy().tobytes()).decode(errors="replace")
            raise MetadataError(
                "the metadata head's saved encoders/groups/sizes differ from those rebuilt from the task "
                f"metadata: saved {saved_text}, rebuilt {json.dumps(module.describe(), sort_keys=True)}"
            )

    def for_metadata(self, records: Sequence[Mapping[str, Any]]) -> ImputationHead:
        """A head scoring the experiments ``records`` (metadata rows) instead of the training ones.

        Raises:
            MetadataError: a missing column, an unparsable value or a value never seen in training
                (unless its column encodes unknown values as zeros); the message names row and column.
        """
        return ImputationHead(self, self.encode_metadata(records))


class ImputationHead(Head):
    """A metadata head's weights applied to other experiments: features (B, F) -> logits (B, E).

    ``codes`` float32 (E, D) are the experiments' encoded metadata (``MetadataHead.encode_metadata``);
    the parameters are those of ``head`` (shared, not copied). Used for imputation: predictions for
    experiments never run, through every predict function of seqlab (it is an ordinary head).
    """

    def __init__(self, head: MetadataHead, codes: torch.Tensor) -> None:
        super().__init__(head.in_features, int(codes.shape[0]))
        self.metadata_head = head
        self.register_buffer("codes", codes.float(), persistent=False)

    def vocabularies(self) -> dict[str, list[str]]:
        """The vocabularies of the metadata head whose weights it applies."""
        return self.metadata_head.vocabularies()

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Map features float32 (B, F) to logits float32 (B, E) of the given experiments."""
        return self.metadata_head.logits_for(features, self.codes)


def build_metadata_head(
    head_config: MetadataHeadConfig | Mapping[str, Any], in_features: int, data_params: Mapping[str, Any]
) -> MetadataHead:
    """Build a metadata head from its config section and the data parameters' ``task_metadata``.

    The encoders are fitted on ``data_params["task_metadata"]`` (the training experiments, in task
    order); the same records always give the same vocabularies, so a saved model rebuilds its head.

    Raises:
        MetadataError: no task metadata, a missing column or an unparsable value (row and column named).
    """
    config = head_config if isinstance(head_config, MetadataHeadConfig) else MetadataHeadConfig(**head_config)
    records = list(data_params.get("task_metadata") or [])
    if not records:
        raise MetadataError("the metadata head needs task metadata (data_params.task_metadata is empty)")
    columns = {
        name: spec.model_dump() if isinstance(spec, MetadataColumnConfig) else {"kind": spec}
        for name, spec in config.columns.items()
    }
    encoder = MetadataEncoder(columns).fit(records)
    return MetadataHead(in_features, encoder, records, config.groups, config.sizes, config.hidden)
