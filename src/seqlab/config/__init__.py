"""Validated configuration: pydantic models of every config section, YAML loading and overrides.

Every section forbids unknown keys, so a mistyped key in a YAML file is an error naming the key.
``load_config`` reads a YAML file, applies ``--set a.b=c`` overrides, validates, and resolves
relative paths against the config file's folder (or an explicit ``data_dir``).

One module per part of a run: ``base`` (machinery), ``data``, ``model``, ``train``, ``hardware``,
``schemes`` (sections of the non-supervised schemes), ``run`` (the top level). Everything is
re-exported here, so ``from seqlab.config import DataConfig`` works.
"""

from seqlab.config.base import (
    ConfigError,
    StrictModel,
    apply_overrides,
    config_reference,
    dump_config,
    load_config,
    resolve_paths,
    validate_config,
)
from seqlab.config.data import (
    AugmentConfig,
    DataConfig,
    GenomeConfig,
    NegativesConfig,
    PeaksSourceConfig,
    SequenceSetConfig,
    SequencesSourceConfig,
    SetTargetConfig,
    SplitConfig,
    SubsampleConfig,
    TilingSourceConfig,
    TracksSourceConfig,
)
from seqlab.config.hardware import HardwareConfig
from seqlab.config.lift import LiftedSourceConfig
from seqlab.config.mfd import MetadataHeadConfig
from seqlab.config.model import (
    DEEPBIND_PRESETS,
    HEAD_CONFIGS,
    TRUNK_CONFIGS,
    BasenjiConfig,
    DeepBindConfig,
    DeepSEAConfig,
    HeadConfig,
    LinearHeadConfig,
    ModelConfig,
    ObjectiveConfig,
    ProfileHeadConfig,
    TrunkConfig,
    register_head_config,
    register_trunk_config,
)
from seqlab.config.run import DnaRunConfig
from seqlab.config.schemes import MfdConfig, NoisyStudentConfig, SslConfig
from seqlab.config.sources import SOURCE_CONFIGS, SourceConfig, register_source_config
from seqlab.config.train import TrainConfig
from seqlab.config.transformer import HFConfig, TransformerConfig

# The built-in sections of every registry, registered in one place (the modules that define them never
# register themselves): model.trunk.arch, model.head.kind and data.sources[].kind.
for _trunk in (DeepBindConfig, DeepSEAConfig, BasenjiConfig, TransformerConfig, HFConfig):
    register_trunk_config(_trunk)
for _head in (LinearHeadConfig, MetadataHeadConfig, ProfileHeadConfig):
    register_head_config(_head)
for _source in (PeaksSourceConfig, TilingSourceConfig, TracksSourceConfig, SequencesSourceConfig, LiftedSourceConfig):
    register_source_config(_source)

__all__ = [
    "AugmentConfig",
    "HFConfig",
    "TransformerConfig",
    "BasenjiConfig",
    "ConfigError",
    "DEEPBIND_PRESETS",
    "DataConfig",
    "DeepBindConfig",
    "DeepSEAConfig",
    "DnaRunConfig",
    "GenomeConfig",
    "HEAD_CONFIGS",
    "HardwareConfig",
    "HeadConfig",
    "LinearHeadConfig",
    "MetadataHeadConfig",
    "MfdConfig",
    "ModelConfig",
    "NegativesConfig",
    "ObjectiveConfig",
    "ProfileHeadConfig",
    "LiftedSourceConfig",
    "NoisyStudentConfig",
    "PeaksSourceConfig",
    "SequenceSetConfig",
    "SetTargetConfig",
    "SequencesSourceConfig",
    "SourceConfig",
    "SplitConfig",
    "SslConfig",
    "StrictModel",
    "SubsampleConfig",
    "SOURCE_CONFIGS",
    "TRUNK_CONFIGS",
    "TilingSourceConfig",
    "TracksSourceConfig",
    "TrainConfig",
    "TrunkConfig",
    "apply_overrides",
    "config_reference",
    "dump_config",
    "load_config",
    "register_head_config",
    "register_source_config",
    "register_trunk_config",
    "resolve_paths",
    "validate_config",
]
