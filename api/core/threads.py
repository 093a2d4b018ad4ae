"""How many threads one process computes with (torch, OpenCV, BLAS/OpenMP pools).

Each pool defaults to every core, so N worker processes on one machine would each start as many
threads as there are cores and fight over them; capping each at its share keeps them apart.
"""

from __future__ import annotations

import os

__all__ = ["limit_threads", "share_of_cores"]


def share_of_cores(processes: int) -> int:
    """This machine's cores divided among ``processes`` (at least 1)."""
    return max(1, (os.cpu_count() or 1) // max(1, processes))


def limit_threads(threads: int) -> None:
    """Use at most ``threads`` threads in this process for model, image and array work."""
    import cv2
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    threadpool_limits(limits=threads)
