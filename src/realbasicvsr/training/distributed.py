"""Processes and devices for training: one process, or one per GPU/CPU slot under ``torchrun``.

Under torchrun (``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` set) a process group is started: NCCL on CUDA,
gloo on the CPU. Multi-node runs use torchrun's own rendezvous (``--nnodes``, ``--rdzv-endpoint``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ..device import process_device
from ..errors import RealBasicVSRError


@dataclass(frozen=True)
class Processes:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def start(device: str = "auto") -> Processes:
    """Join torchrun's process group when launched by it, and pick this process's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    dev = process_device(device)
    if dev.type == "cuda" and dev.index is None:  # not under torchrun: the current GPU
        dev = torch.device("cuda", torch.cuda.current_device())
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if dev.type == "cuda" else "gloo"
        try:
            dist.init_process_group(backend=backend)
        except (RuntimeError, ValueError) as e:
            raise RealBasicVSRError(f"could not start the {backend} process group: {e}") from e
    return Processes(rank, world, local, dev)


def stop() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def all_ranks_agree(flag: bool, procs: Processes) -> bool:
    """True when ``flag`` is true on any rank (e.g. one rank saw Ctrl-C: every rank stops at the same step)."""
    if not procs.distributed:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=procs.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def average_gradients(module: torch.nn.Module, procs: Processes) -> None:
    """Average the gradients of ``module`` across ranks (used for the discriminator, which the reference
    step calls three times per iteration: a pattern DistributedDataParallel does not allow)."""
    if not procs.distributed:
        return
    for p in module.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad.div_(procs.world_size)


def check_in_sync(module: torch.nn.Module, procs: Processes, where: str) -> None:
    """Raise when the ranks hold different weights (they must: gradients are averaged every step)."""
    if not procs.distributed:
        return
    with torch.no_grad():
        mine = torch.stack([p.detach().double().sum() for p in module.parameters()]).to(procs.device)
    gathered = [torch.empty_like(mine) for _ in range(procs.world_size)]
    dist.all_gather(gathered, mine)
    bad = [r for r, g in enumerate(gathered) if not torch.equal(g, gathered[0])]
    if bad:
        raise RealBasicVSRError(f"ranks {bad} hold different weights from rank 0 at {where}")


def barrier(procs: Processes) -> None:
    if procs.distributed:
        dist.barrier()
