"""``seqlab ssl lift``: build the labelled reference examples, lift them to every target genome, write
the homolog table and the report (see :mod:`seqlab.data.homologs`).

Python API::

    from seqlab.lift import load_lift_config, run_lift
    result = run_lift(load_lift_config("run.yaml"), "runs/lift")
    result.homologs            # ExampleTable of pseudo-labelled homolog windows
    result.report["genomes"]   # counts per target genome and task

Files written to the output folder (only after every genome lifted; each file atomically):
``homologs/`` (the table, :meth:`ExampleTable.save`), ``lift_report.json`` and ``lift_report.tsv``
(one row per genome and task: windows, lifted, failures by reason, kept, positives and negatives of
the human windows and of their homologs).
"""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from seqlab.config import ConfigError
from seqlab.config.base import apply_overrides, resolve_paths, validate_config
from seqlab.config.run import LiftRunConfig
from seqlab.data.build import ExampleTable, build_examples
from seqlab.data.homologs import LiftOptions, TargetGenome, lift_examples, lift_report_rows
from seqlab.runs import atomic_open, write_json

__all__ = ["LiftResult", "lift_summary", "load_lift_config", "run_lift", "target_genomes"]

log = logging.getLogger(__name__)


@dataclass
class LiftResult:
    """What :func:`run_lift` made: the human examples, their homologs, the report and the output folder."""

    examples: ExampleTable
    homologs: ExampleTable
    report: dict[str, Any]
    out_dir: Path


def load_lift_config(
    path: str | Path, overrides: list[str] | None = None, data_dir: str | Path | None = None
) -> LiftRunConfig:
    """Read the ``seed``, ``name``, ``data``, ``genomes`` and ``lift`` sections of a run config YAML.

    Other top-level sections (``model``, ``train``, ...) are ignored, so the same file can train.

    Raises:
        ConfigError: a missing or invalid file, or an invalid key in the sections read.
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
    raw = {key: value for key, value in raw.items() if key in LiftRunConfig.model_fields}
    base = (Path(data_dir) if data_dir is not None else path.parent).resolve()
    config = validate_config(raw, LiftRunConfig, str(path), base)
    for genome in config.genomes.values():  # resolve_paths does not enter mappings
        resolve_paths(genome, base)
    return config


def target_genomes(config: LiftRunConfig) -> list[TargetGenome]:
    """The genomes to lift to: top-level ``genomes``, else the non-reference ``data.genomes`` with a chain."""
    if config.genomes:
        return [TargetGenome(name, g.fasta, g.chain) for name, g in config.genomes.items()]
    data_genomes = dict(getattr(config.data, "genomes", None) or {})
    targets = [
        TargetGenome(name, g.fasta, g.chain)
        for name, g in list(data_genomes.items())[1:]
        if getattr(g, "chain", None) is not None
    ]
    if not targets:
        raise ConfigError("no genome to lift to: give genomes: {NAME: {fasta: PATH, chain: PATH}}")
    return targets


def run_lift(config: LiftRunConfig, out_dir: str | Path) -> LiftResult:
    """Build the reference examples of ``config.data``, lift them to every target genome, write the results.

    Args:
        config: the lift config (:func:`load_lift_config`).
        out_dir: output folder (created); existing files of the same names are replaced.

    Returns:
        The :class:`LiftResult`.

    Raises:
        ConfigError: no target genome.
        LiftError: a chain that does not fit its FASTA, a genome without any homolog.
        ChainFormatError: a malformed chain. Nothing is written when any of these is raised.
    """
    targets = target_genomes(config)
    # before Spine v2 the negatives' seed is an argument; after it, a key of each source
    seeded = "seed" in inspect.signature(build_examples).parameters
    examples = build_examples(config.data, seed=config.seed) if seeded else build_examples(config.data)
    options = LiftOptions(**config.lift.model_dump())
    homologs = lift_examples(examples, targets, options, reference=config.data.genome_name)
    report = homologs.report["lift"]
    report["examples"] = {"windows": len(examples), "by_split": examples.frame["split"].value_counts().to_dict()}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    homologs.save(out / "homologs")
    write_json(out / "lift_report.json", report)
    with atomic_open(out / "lift_report.tsv", "w") as handle:
        lift_report_rows(report).to_csv(handle, sep="\t", index=False)
    log.info("lifted %d windows to %d genome(s)\n%s", len(examples), len(targets), lift_summary(report))
    return LiftResult(examples=examples, homologs=homologs, report=report, out_dir=out)


def lift_summary(report: dict[str, Any]) -> str:
    """Short text: per genome kept / windows and the failures; per task the positives before and after."""
    lines = []
    for genome, entry in report["genomes"].items():
        failed = ", ".join(f"{reason} {n:,}" for reason, n in entry["failed"].items() if n)
        guard = sum(entry["guard_removed"].values())
        lines.append(
            f"{genome}: {entry['kept']:,} of {entry['windows']:,} windows kept (failed: {failed or 'none'}; "
            f"leakage guard removed {guard:,})"
        )
    for task, totals in report["totals"].items():
        lines.append(
            f"{task}: positives {totals['positives_human']:,} human -> {totals['positives_total']:,} with "
            f"{totals['positives_homologs']:,} homologs"
        )
    return "\n".join(lines)
