"""What a training process needs to know about its launcher (`accelerate launch`, torchrun).

The launcher starts one process per device and sets WORLD_SIZE, RANK and LOCAL_RANK. Each
process then loads the model onto its own device (`policy.models.resolve_device` reads
LOCAL_RANK), accumulates fewer steps so that the effective batch stays `batch_size`, and only
the main process writes the checkpoint (the others would race on the same folder).
"""

from __future__ import annotations

import os


def world_size(environ: dict[str, str] | None = None) -> int:
    """Processes of this run (WORLD_SIZE; 1 without a launcher)."""
    environ = os.environ if environ is None else environ
    return int(environ.get("WORLD_SIZE", 1))


def accumulation_per_process(batch_size: int, per_device_batch_size: int, processes: int) -> int:
    """Gradient accumulation steps that keep the effective batch at `batch_size` pairs when
    `processes` processes each take `per_device_batch_size` pairs per step.

    >>> accumulation_per_process(16, 2, 1), accumulation_per_process(16, 2, 4), accumulation_per_process(16, 2, 8)
    (8, 2, 1)
    >>> accumulation_per_process(16, 2, 3)
    Traceback (most recent call last):
    ValueError: train.batch_size: 16 pairs do not split over 3 processes x 2 pairs per device
    """
    if batch_size % (per_device_batch_size * processes):
        raise ValueError(f"train.batch_size: {batch_size} pairs do not split over {processes} processes x "
                         f"{per_device_batch_size} pairs per device")
    return batch_size // (per_device_batch_size * processes)


def is_main_process(environ: dict[str, str] | None = None) -> bool:
    """Rank 0 (RANK), or the only process without a launcher: the one that writes shared files.

    >>> is_main_process({}), is_main_process({"RANK": "0"}), is_main_process({"RANK": "1"})
    (True, True, False)
    """
    environ = os.environ if environ is None else environ
    return int(environ.get("RANK", 0)) == 0
