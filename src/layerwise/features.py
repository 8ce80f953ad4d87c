"""Per-layer representations of a trained model on a data set."""
from __future__ import annotations

import torch
from torch import nn


def layer_features(model: nn.Module, x: torch.Tensor, *, batch_size: int = 4096) -> list[torch.Tensor]:
    """Return `model.features(x)` in eval mode without gradients: L + 1 tensors (n, d_l) on the CPU.

    l = 0 is the input and l = L the output. Batches of `batch_size` bound the memory; the model's
    train/eval mode is restored afterwards.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    chunks: list[list[torch.Tensor]] = []
    try:
        with torch.no_grad():
            for start in range(0, x.shape[0], batch_size):
                xb = x[start:start + batch_size].to(device)
                chunks.append([f.detach().cpu() for f in model.features(xb)])
    finally:
        model.train(was_training)
    return [torch.cat(parts) for parts in zip(*chunks)]
