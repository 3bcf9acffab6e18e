"""Validated configuration: pydantic models of every config section, YAML loading and overrides.

Every section forbids unknown keys, so a mistyped key in a YAML file is an error naming the key.
``load_config`` reads a YAML file, applies ``--set a.b=c`` overrides, validates, and resolves
relative paths against the config file's folder (or an explicit ``data_dir``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = [
    "AugmentConfig",
    "BasenjiConfig",
    "ConfigError",
    "DEEPBIND_PRESETS",
    "DataConfig",
    "DeepBindConfig",
    "DeepSEAConfig",
    "DnaRunConfig",
    "ModelConfig",
    "NegativesConfig",
    "SequenceSetConfig",
    "SplitConfig",
    "StrictModel",
    "TilingConfig",
    "TrainConfig",
    "apply_overrides",
    "config_reference",
    "dump_config",
    "load_config",
    "resolve_paths",
]


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the file and the key."""


class StrictModel(BaseModel):
    """Base of every config section: unknown keys are errors, values are checked on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, protected_namespaces=())


# --------------------------------------------------------------------------- DNA data


class NegativesConfig(StrictModel):
    """Background negatives sampled from the genome."""

    ratio: float = Field(1.0, ge=0, description="Negatives per positive window (0 disables sampling).")
    gc_match: bool = Field(True, description="Match the GC-content distribution of the positives.")
    gc_bins: int = Field(20, ge=1, description="Number of GC-content bins used for matching.")
    max_n_fraction: float = Field(0.01, ge=0, le=1, description="Reject windows with more N than this.")
    exclude_flank: int = Field(0, ge=0, description="Extra bp around every peak that negatives avoid.")


class TilingConfig(StrictModel):
    """Genome tiling: fixed bins with a stride, labelled by overlap with each task's peaks."""

    bin_size: int = Field(200, gt=0, description="Bin length in bp (labels come from the bin).")
    stride: int = Field(200, gt=0, description="Distance between bin starts in bp.")
    chroms: list[str] | None = Field(None, description="Chromosomes to tile (default: all in the genome).")
    max_n_fraction: float = Field(0.01, ge=0, le=1, description="Drop bins with more N than this.")


class SequenceSetConfig(StrictModel):
    """A ready-made FASTA of windows with one label per task (coordinates parsed from chr:start-end names)."""

    fasta: Path
    labels: dict[str, float] = Field(
        ..., description="Label of every record of this file, per task name, e.g. {CTCF: 1}."
    )


class SplitConfig(StrictModel):
    """Chromosome-level split: never random over windows."""

    test_chroms: list[str] = Field(default_factory=lambda: ["chr8", "chr9"], description="Test chromosomes.")
    val_chroms: list[str] = Field(
        default_factory=lambda: ["chr7"], description="Validation chromosomes (early stopping, checkpoint choice)."
    )
    exclude_chroms: list[str] = Field(default_factory=list, description="Chromosomes dropped entirely.")


class AugmentConfig(StrictModel):
    """Training-time augmentation (training split only)."""

    max_shift: int = Field(0, ge=0, description="Random shift of the window by up to this many bp.")
    reverse_complement: bool = Field(True, description="Reverse-complement half of training examples.")


class DataConfig(StrictModel):
    """Where examples come from and how they become tensors."""

    mode: Literal["peaks", "tiling", "sequences"] = Field(
        "peaks", description="peaks: windows on peaks + sampled negatives; tiling: genome bins; sequences: FASTA sets."
    )
    genome: Path | None = Field(None, description="Genome FASTA (plain or bgzip with .fai/.gzi).")
    genome_name: str = Field("genome", description="Name of the genome, recorded on every example.")
    tasks: Path | None = Field(None, description="Task table TSV: task, peaks and metadata columns.")
    sequences: list[SequenceSetConfig] = Field(
        default_factory=list, description="Ready-made FASTA sets with labels (mode sequences): [{fasta, labels}]."
    )
    window_length: int = Field(200, gt=0, description="Window (model input) length in bp.")
    center: Literal["summit", "center"] = Field(
        "summit", description="Centre windows on the narrowPeak summit (column 10) or interval centre."
    )
    chrom_end: Literal["drop", "pad"] = Field("drop", description="Windows crossing a chromosome end.")
    min_overlap: int = Field(1, ge=1, description="Minimum bp overlap with a peak for a positive label.")
    negatives: NegativesConfig = Field(default_factory=NegativesConfig)
    tiling: TilingConfig = Field(default_factory=TilingConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    encoding: Literal["onehot", "dinucleotide"] = Field(
        "onehot", description="onehot: 4 channels (N = zeros); dinucleotide: 16 channels."
    )
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    deduplicate: bool = Field(True, description="Drop duplicate windows (same genome, chrom, start, end).")
    batch_size: int = Field(128, gt=0, description="Windows per batch.")
    num_workers: int = Field(0, ge=0, description="DataLoader worker processes (each opens the genome itself).")

    @model_validator(mode="after")
    def _inputs_present(self) -> DataConfig:
        if self.mode in ("peaks", "tiling") and (self.genome is None or self.tasks is None):
            raise ValueError(f"data.mode={self.mode!r} needs data.genome and data.tasks")
        if self.mode == "sequences" and not self.sequences:
            raise ValueError("data.mode='sequences' needs at least one entry in data.sequences")
        return self


# --------------------------------------------------------------------------- DNA models


DEEPBIND_PRESETS: dict[str, dict[str, Any]] = {
    # 10,369 parameters with one task (conv 6,208 + dense 4,128 + head 33), whatever the window length.
    "default": {"filters": 64, "kernel_size": 24, "hidden": 32, "dropout": 0.1},
    # 26,881 parameters with one task (conv 10,368 + dense 16,448 + head 65): the ~27K DeepBind-like CNN.
    "small27k": {"filters": 128, "kernel_size": 20, "hidden": 64, "dropout": 0.1},
}


class DeepBindConfig(StrictModel):
    """DeepBind: one convolution scanned on both strands, global max and average pooling, dense.

    ``preset`` fills the sizes from ``DEEPBIND_PRESETS``; keys given next to it override the preset.
    """

    arch: Literal["deepbind"] = "deepbind"
    preset: Literal["default", "small27k"] | None = Field(
        None, description="Named sizes (DEEPBIND_PRESETS); explicit keys override them."
    )
    filters: int = Field(64, gt=0, description="Convolution filters (motif detectors).")
    kernel_size: int = Field(24, gt=0, description="Filter width in bp.")
    hidden: int = Field(32, ge=0, description="Dense units after pooling (0: linear head on pooled).")
    dropout: float = Field(0.1, ge=0, lt=1, description="Dropout before the head.")

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("preset") in DEEPBIND_PRESETS:
            return {**DEEPBIND_PRESETS[data["preset"]], **data}
        return data


class DeepSEAConfig(StrictModel):
    """DeepSEA: three convolutions (320/480/960, width 8) with max-pooling and dropout, dense 925."""

    arch: Literal["deepsea"] = "deepsea"
    channels: list[int] = Field(default_factory=lambda: [320, 480, 960], description="Filters of each convolution.")
    kernel_size: int = Field(8, gt=0, description="Width of every convolution.")
    pool_size: int = Field(4, gt=0, description="Max-pooling after the first two convolutions.")
    dropout: list[float] = Field(
        default_factory=lambda: [0.2, 0.2, 0.5], description="Dropout after each convolution (one per layer)."
    )
    hidden: int = Field(925, gt=0, description="Dense units (the features).")

    @model_validator(mode="after")
    def _one_dropout_per_layer(self) -> DeepSEAConfig:
        if not self.channels or len(self.dropout) != len(self.channels):
            raise ValueError(
                f"model.dropout needs one rate per convolution: {len(self.channels)} channels, "
                f"{len(self.dropout)} dropout rates"
            )
        return self


class BasenjiConfig(StrictModel):
    """Basenji-like dilated residual CNN: stem, pooling tower, dilated residual blocks, crop, pointwise."""

    arch: Literal["basenji"] = "basenji"
    stem_channels: int = Field(64, gt=0, description="Filters of the stem convolution.")
    stem_kernel: int = Field(15, gt=0, description="Width of the stem convolution.")
    tower_channels: list[int] = Field(default_factory=lambda: [64, 96], description="Channels of each tower block.")
    tower_kernel: int = Field(5, gt=0, description="Width of the tower convolutions.")
    pool_size: int = Field(2, gt=0, description="Max-pooling after the stem and each tower block.")
    dilated_blocks: int = Field(4, ge=0, description="Dilated residual blocks.")
    dilation_rate: float = Field(1.5, ge=1, description="Growth of the dilation from block to block.")
    crop: int = Field(0, ge=0, description="Positions cropped from each end before pooling.")
    features: int = Field(128, gt=0, description="Channels of the final pointwise layer.")
    dropout: float = Field(0.1, ge=0, lt=1, description="Dropout in the residual blocks.")


ModelConfig = Annotated[DeepBindConfig | DeepSEAConfig | BasenjiConfig, Field(discriminator="arch")]


# --------------------------------------------------------------------------- training


class TrainConfig(StrictModel):
    """Optimisation, stopping, hardware."""

    max_epochs: int = Field(20, gt=0, description="Epochs at most (early stopping may end sooner).")
    learning_rate: float = Field(1e-3, gt=0, description="AdamW learning rate.")
    weight_decay: float = Field(1e-2, ge=0, description="AdamW weight decay.")
    pos_weight: float | None = Field(
        None, gt=0, description="BCE weight on positives; None = 1, 'auto' not supported: set a number."
    )
    patience: int = Field(5, ge=1, description="Early-stopping patience in epochs on the monitored metric.")
    monitor: Literal["val_auroc", "val_aupr", "val_loss"] = Field(
        "val_auroc", description="Validation metric for early stopping and the best checkpoint."
    )
    accelerator: str = Field("auto", description="'auto' uses a GPU when one is present.")
    devices: int | str = Field("auto", description="Number of devices, or 'auto'.")
    strategy: str = Field("auto", description="Lightning strategy, e.g. 'ddp' for several GPUs.")
    precision: str = Field("auto", description="'auto': bf16-mixed on a GPU with bf16, else 32-true.")
    gradient_clip: float | None = Field(None, gt=0, description="Clip gradients to this norm.")
    limit_train_batches: int | float | None = Field(
        None, description="Train on this many batches (or this fraction) per epoch; for quick runs."
    )
    progress_bar: bool = Field(True, description="Rich progress bar.")
    threads: int | None = Field(
        None, gt=0, description="CPU threads of torch (None: torch's default). 1 is much faster for small "
        "models on a machine that other jobs share.",
    )


class DnaRunConfig(StrictModel):
    """A supervised DNA run: data, model, training; the run folder gets the resolved copy."""

    seed: int = Field(0, description="Seeds sampling, shuffling, augmentation and initialisation.")
    name: str = Field("run", description="Run name (the default run folder is runs/<name>).")
    data: DataConfig
    model: ModelConfig = Field(default_factory=DeepBindConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)


# --------------------------------------------------------------------------- loading

ConfigT = TypeVar("ConfigT", bound=BaseModel)


def _parse_scalar(text: str) -> Any:
    """Parse an override value as YAML so that numbers, booleans, lists and null keep their types."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``key.sub=value`` overrides to a nested dict (in place) and return it.

    Values are parsed as YAML (``3`` -> int, ``[chr1, chr2]`` -> list). Intermediate sections are
    created when missing; validation later rejects keys that do not exist.
    """
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not of the form key.sub=value")
        dotted, value = item.split("=", 1)
        keys = [k for k in dotted.strip().split(".") if k]
        if not keys:
            raise ConfigError(f"override {item!r} has an empty key")
        node = raw
        for key in keys[:-1]:
            child = node.get(key)
            if child is None:
                child = node[key] = {}
            if not isinstance(child, dict):
                raise ConfigError(f"override {item!r}: {key!r} is a value, not a section")
            node = child
        node[keys[-1]] = _parse_scalar(value)
    return raw


def resolve_paths(model: BaseModel, base_dir: Path) -> None:
    """Make every relative ``Path`` field of ``model`` (recursively) absolute against ``base_dir``."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, Path) and not value.is_absolute():
            setattr(model, name, (base_dir / value).resolve())
        elif isinstance(value, BaseModel):
            resolve_paths(value, base_dir)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, BaseModel):
                    resolve_paths(item, base_dir)


def _format_validation_error(err: ValidationError, source: str) -> str:
    lines = [f"invalid configuration in {source}:"]
    for problem in err.errors():
        where = ".".join(str(p) for p in problem["loc"]) or "(top level)"
        if problem["type"] == "extra_forbidden":
            lines.append(f"  {where}: unknown key (check its spelling and section)")
        else:
            lines.append(f"  {where}: {problem['msg']}")
    return "\n".join(lines)


def validate_config(
    raw: dict[str, Any], model_cls: type[ConfigT], source: str, base_dir: Path
) -> ConfigT:
    """Validate a raw dict into ``model_cls`` and resolve relative paths against ``base_dir``."""
    try:
        config = model_cls.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_format_validation_error(err, source)) from None
    resolve_paths(config, base_dir)
    return config


def load_config(
    path: str | Path,
    model_cls: type[ConfigT],
    overrides: list[str] | None = None,
    data_dir: str | Path | None = None,
) -> ConfigT:
    """Read a YAML config, apply overrides, validate it and resolve relative paths.

    Args:
        path: YAML file.
        model_cls: the pydantic model of the whole config (e.g. ``DnaRunConfig``).
        overrides: ``key.sub=value`` strings applied after reading, before validation.
        data_dir: folder that relative data paths resolve against (default: the config's folder).

    Raises:
        ConfigError: the file is missing or not YAML, or a key is unknown or has a wrong value.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    apply_overrides(raw, overrides or [])
    base = Path(data_dir) if data_dir is not None else path.parent
    return validate_config(raw, model_cls, str(path), base.resolve())


def dump_config(config: BaseModel) -> str:
    """Render a config as YAML (paths as strings) for the run folder."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) if isinstance(annotation, type) else None
    text = text or str(annotation)
    for noise in ("typing.", "pathlib.", "seqlab.config.", "seqlab.protein.config.", "NoneType"):
        text = text.replace(noise, "None" if noise == "NoneType" else "")
    return text.replace("|", "or").replace("  ", " ")


def config_reference(model_cls: type[BaseModel], prefix: str = "") -> str:
    """Markdown tables of every key of ``model_cls`` and its sections: type, default, description."""
    rows: list[str] = []
    sections: list[tuple[str, type[BaseModel]]] = []
    for name, field in model_cls.model_fields.items():
        key = f"{prefix}{name}"
        annotation = field.annotation
        nested = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
        if nested is not None:
            sections.append((key, nested))
            continue
        if field.discriminator:
            members = get_args(annotation)
            names = ", ".join(f"`{m.model_fields[field.discriminator].default}`" for m in members)
            rows.append(f"| `{key}.{field.discriminator}` | one of {names} | | picks one section below |")
            sections.extend((key, member) for member in members)
            continue
        default = "required" if field.is_required() else field.get_default(call_default_factory=True)
        if isinstance(default, BaseModel):
            default = default.model_dump(mode="json")
        description = (field.description or "").replace("|", "\\|")
        rows.append(f"| `{key}` | {_type_name(annotation)} | `{default}` | {description} |")
    doc = (model_cls.__doc__ or "").strip().splitlines()[0]
    title = prefix.rstrip(".") or model_cls.__name__
    if "arch" in model_cls.model_fields:
        title = f"{title}` with `arch: {model_cls.model_fields['arch'].default}"
    parts = [f"### `{title}`\n\n{doc}\n"]
    if rows:
        parts.append("| key | type | default | meaning |\n|---|---|---|---|\n" + "\n".join(rows) + "\n")
    for key, nested in sections:
        parts.append(config_reference(nested, f"{key}."))
    return "\n".join(parts)
