"""``seqlab ssl lift``: build the labelled reference examples of a run config, lift them to every target
genome of ``data.genomes``, write the homolog table and the report (see :mod:`seqlab.data.homologs`).

The lifting options are those of the config's ``{kind: lifted}`` entry of ``data.sources`` (defaults when
there is none); the other sources give the windows that are lifted. Python API::

    from seqlab.config import DnaRunConfig, load_config
    from seqlab.workflows.lift import run_lift
    result = run_lift(load_config("run.yaml", DnaRunConfig), "runs/lift")
    result.homologs            # ExampleTable of pseudo-labelled homolog windows
    result.report["genomes"]   # counts per target genome and task

Files written to the output folder, only after every genome lifted (each file atomically):
``homologs/`` (the table, :meth:`ExampleTable.save`), ``lift_report.json`` and ``lift_report.tsv``
(one row per genome and task: windows, lifted, failures by reason, kept, positives and negatives of
the reference windows and of their homologs).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqlab.atomic import atomic_open, write_json
from seqlab.config import ConfigError, DnaRunConfig
from seqlab.config.lift import LiftedSourceConfig
from seqlab.data.build import build_examples
from seqlab.data.homologs import lift_examples, lift_report_rows
from seqlab.data.sources.lifted import lift_options, lift_targets
from seqlab.data.table import ExampleTable
from seqlab.outputs import new_folder, refuse_existing_folder

__all__ = ["LiftResult", "lift_summary", "run_lift"]

log = logging.getLogger(__name__)


@dataclass
class LiftResult:
    """What :func:`run_lift` made: the reference examples, their homologs, the report and the output folder."""

    examples: ExampleTable
    homologs: ExampleTable
    report: dict[str, Any]
    out_dir: Path


def run_lift(config: DnaRunConfig, out_dir: str | Path, overwrite: bool = False) -> LiftResult:
    """Build the examples of ``config.data`` (without its lifted source), lift them, write the results.

    Args:
        config: a DNA run config; ``data.genomes`` holds the reference (first) and the target genomes with
            their chains, ``data.sources`` the windows to lift and optionally one ``{kind: lifted}`` entry.
        out_dir: output folder, written complete or not at all; a non-empty one is refused
            (:class:`~seqlab.outputs.OutputExistsError`) unless ``overwrite``.
        overwrite: replace an earlier lift's folder (one holding ``lift_report.json``; another folder
            is never replaced).

    Returns:
        The :class:`LiftResult`.

    Raises:
        ConfigError: several lifted sources, no other source.
        ValueError: no target genome (:func:`~seqlab.data.sources.lifted.lift_targets`).
        LiftError: a chain that does not fit its FASTA, a genome without any homolog.
        ChainFormatError: a malformed chain. Nothing is written when any of these is raised.
    """
    refuse_existing_folder(out_dir, overwrite, "lift_report.json")  # before any work
    data = config.data
    lifted = [source for source in data.sources if source.kind == "lifted"]
    if len(lifted) > 1:
        raise ConfigError(f"data.sources has {len(lifted)} entries of kind lifted; seqlab ssl lift needs at most one")
    source = lifted[0] if lifted else LiftedSourceConfig()
    others = [s for s in data.sources if s.kind != "lifted"]
    if not others:
        raise ConfigError("data.sources has no source of windows to lift (peaks, tiling or sequences)")
    reference, targets = lift_targets(source, data.genomes)
    examples = build_examples(data.model_copy(update={"sources": others}))
    homologs = lift_examples(examples, targets, lift_options(source, data.split.gap), reference=reference)
    report = homologs.report["lift"]
    report["examples"] = {"windows": len(examples), "by_split": examples.frame["split"].value_counts().to_dict()}
    out = Path(out_dir)
    with new_folder(out, overwrite, "lift_report.json") as folder:
        homologs.save(folder / "homologs")
        write_json(folder / "lift_report.json", report)
        with atomic_open(folder / "lift_report.tsv", "w") as handle:
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
