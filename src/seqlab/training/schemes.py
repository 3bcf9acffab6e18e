"""Training schemes: one registry entry per ``train.scheme`` (:class:`Scheme`), in one file per scheme.

A scheme is its name, the config sections it reads (``ssl:``, ``noisy_student:``, ``mfd:``; config/schemes.py),
the folders of its stages, and its ``run(ctx: RunContext) -> dict`` returning the run's metrics document
(metrics.json content, without the keys the pipeline adds). Each stage trains through the one loop,
:func:`seqlab.training.fit.fit`. The built-in schemes live in training/supervised.py, ssl.py,
noisy_student.py and mfd_scheme.py and are registered in one place, training/builtin.py::

    SSL = Scheme("ssl", run_ssl_scheme, sections=("ssl",), stages=("pretrain", "finetune"))
    register_scheme(SSL)

The context carries the config, the run folder (``ctx.stage("pretrain")`` gives a sub-folder with
the same layout), the example table, the seed, whether to resume, and ``ctx.evaluate``: the
pipeline's evaluation (predict a table with a model and write metrics.json, TSVs and plots into a
folder), passed in so that schemes, at the training layer, do not import the evaluation layer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from seqlab.config.schemes import SCHEME_OBJECTIVES, SCHEME_SECTIONS
from seqlab.data.table import ExampleTable
from seqlab.models.data_params import DataParams
from seqlab.models.sequence_model import SequenceModel
from seqlab.registry import Registry
from seqlab.runs import RunPaths

__all__ = ["SCHEMES", "EvaluateFn", "RunContext", "Scheme", "get_scheme", "register_scheme"]


class EvaluateFn(Protocol):
    """``evaluate(model, table, out, splits) -> metrics document`` (see ``RunContext``)."""

    def __call__(
        self,
        model: SequenceModel,
        table: ExampleTable,
        out: Path,
        splits: Sequence[str],
    ) -> dict[str, Any]:
        """Predict ``splits`` of ``table`` and write metrics.json, TSVs and plots into ``out``."""
        ...


@dataclass
class RunContext:
    """What a scheme needs to train a run.

    Attributes:
        config: the validated run config (``DnaRunConfig``; scheme sections such as ``ssl`` included).
        run: the run folder.
        table: the run's examples (with their ``split`` column; homologs have an ``origin``).
        data_params: the data parameters every model of the run is built for.
        seed: the run's seed (already applied).
        evaluate: the pipeline's evaluation function (``EvaluateFn``).
        resume: continue from the last checkpoint of each stage.
        tables: further tables by name (e.g. ``homologs``), for schemes that use them.
        extra: keys a scheme adds to metrics.json (e.g. ``n_parameters``).
    """

    config: Any
    run: RunPaths
    table: ExampleTable
    data_params: DataParams
    seed: int
    evaluate: EvaluateFn
    resume: bool = False
    tables: dict[str, ExampleTable] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def stage(self, name: str) -> RunPaths:
        """The run sub-folder of a stage (``pretrain``, ``finetune``, ``round_1``...), same layout as a run."""
        return self.run.stage(name)


SchemeFn = Callable[[RunContext], dict[str, Any]]


@dataclass(frozen=True)
class Scheme:
    """One ``train.scheme``: its name, what it runs, the config sections it reads and its stage folders.

    Attributes:
        name: the ``train.scheme`` value.
        run: ``run(ctx) -> metrics document``; every stage trains through ``training.fit.fit``.
        sections: top-level config sections the scheme reads (``DnaRunConfig`` fields, config/schemes.py).
        stages: the stage folders it writes inside the run folder ("" = the run folder itself;
            ``{k}`` = a round number).
        objectives: the objective kinds (``model.objective.kind``) it trains; another is a config error
            naming both.
    """

    name: str
    run: SchemeFn
    sections: tuple[str, ...] = ()
    stages: tuple[str, ...] = ("",)
    objectives: tuple[str, ...] = ("binary",)

    def __call__(self, ctx: RunContext) -> dict[str, Any]:
        """Run the scheme (``self.run(ctx)``)."""
        return self.run(ctx)


SCHEMES = Registry("training scheme")
"""The :class:`Scheme` of every ``train.scheme`` name (registered in training/builtin.py)."""


def register_scheme(scheme: Scheme) -> Scheme:
    """Make ``scheme`` the implementation of ``train.scheme: <scheme.name>``.

    Raises:
        ValueError: the name is registered already with another scheme.
    """
    registered = SCHEMES.register(scheme.name)(scheme)
    SCHEME_SECTIONS.setdefault(scheme.name, scheme.sections)  # a name train.scheme accepts when the config loads
    SCHEME_OBJECTIVES.setdefault(scheme.name, scheme.objectives)
    return registered


def get_scheme(name: str) -> Scheme:
    """The scheme of ``name``.

    Raises:
        ValueError: no scheme of that name is registered (the registered names are listed).
    """
    if name not in SCHEMES:
        raise ValueError(f"train.scheme {name!r} has no registered implementation; registered: {sorted(SCHEMES)}")
    return SCHEMES[name]
