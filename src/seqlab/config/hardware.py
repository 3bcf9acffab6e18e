"""The hardware section shared by every run config (DNA train, protein pretrain and finetune)."""

from __future__ import annotations

from pydantic import Field

from seqlab.config.base import StrictModel

__all__ = ["HardwareConfig"]


class HardwareConfig(StrictModel):
    """Where and how a run computes: accelerator, devices, nodes, precision, strategy, threads, workers, malloc."""

    accelerator: str = Field("auto", description="'auto' uses a GPU when one is present; 'cpu', 'gpu', ...")
    devices: int | str = Field("auto", description="Devices per node, or 'auto'.")
    num_nodes: int = Field(1, gt=0, description="Machines (nodes) of a multi-node run (Lightning num_nodes).")
    strategy: str = Field("auto", description="Lightning strategy, e.g. 'ddp' for several GPUs or processes.")
    precision: str = Field("auto", description="'auto': bf16-mixed on a GPU with bf16, else 32-true.")
    threads: int | None = Field(
        None,
        gt=0,
        description="CPU threads of torch (None: torch's default). 1 is much faster for small "
        "models on a machine that other jobs share.",
    )
    workers: int = Field(0, ge=0, description="DataLoader worker processes (each opens the genome itself).")
    keep_freed_memory: bool = Field(
        True,
        description="Linux/glibc: malloc keeps freed memory for reuse (no mmap per large block, no trimming), "
        "so CPU steps do not map and zero their big tensors anew (DeepBind, batch 128 x 1 kb: 1.7x faster); "
        "the process keeps its peak memory.",
    )
