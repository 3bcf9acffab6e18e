"""Validated configuration: pydantic models of every config section, YAML loading and overrides.

Every section forbids unknown keys, so a mistyped key in a YAML file is an error naming the key.
``load_config`` reads a YAML file, applies ``--set a.b=c`` overrides, validates, and resolves
relative paths against the config file's folder (or an explicit ``data_dir``).

One module per part of a run: ``base`` (machinery), ``data``, ``model``, ``train``, ``run`` (the
top level). Everything is re-exported here, so ``from seqlab.config import DataConfig`` works.
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
    NegativesConfig,
    SequenceSetConfig,
    SplitConfig,
    TilingConfig,
)
from seqlab.config.model import (
    DEEPBIND_PRESETS,
    BasenjiConfig,
    DeepBindConfig,
    DeepSEAConfig,
    HFConfig,
    ModelConfig,
    TransformerConfig,
)
from seqlab.config.run import DnaRunConfig
from seqlab.config.train import TrainConfig

__all__ = [
    "AugmentConfig",
    "BasenjiConfig",
    "ConfigError",
    "DEEPBIND_PRESETS",
    "DataConfig",
    "DeepBindConfig",
    "DeepSEAConfig",
    "DnaRunConfig",
    "HFConfig",
    "ModelConfig",
    "NegativesConfig",
    "SequenceSetConfig",
    "SplitConfig",
    "StrictModel",
    "TilingConfig",
    "TrainConfig",
    "TransformerConfig",
    "apply_overrides",
    "config_reference",
    "dump_config",
    "load_config",
    "resolve_paths",
    "validate_config",
]
