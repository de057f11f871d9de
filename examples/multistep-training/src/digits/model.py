"""The network and its checkpoint: a state dict plus the number of epochs trained so far."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn


class DigitsCNN(nn.Module):
    """conv(1->16) -> conv(16->32) -> max-pool -> fc(512->64) -> fc(64->10)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, kernel_size=3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(32 * 4 * 4, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv1(x))
        x = self.pool(torch.relu(self.conv2(x)))
        x = torch.relu(self.fc1(x.flatten(1)))
        return self.fc2(x)

    def prunable(self) -> list[tuple[nn.Module, str]]:
        """The weights magnitude pruning works on (biases are left alone)."""
        return [(layer, "weight") for layer in (self.conv1, self.conv2, self.fc1, self.fc2)]


def sparsity(model: DigitsCNN) -> float:
    """The share of exactly-zero values among the prunable weights."""
    weights = [getattr(layer, name) for layer, name in model.prunable()]
    zeros = sum(int((w == 0).sum()) for w in weights)
    return zeros / sum(w.numel() for w in weights)


def save(model: DigitsCNN, epochs_done: int, path: Path) -> None:
    """Write the checkpoint of `model` after `epochs_done` epochs in all to `path`."""
    torch.save({"state_dict": model.state_dict(), "epochs_done": epochs_done}, path)


def load(path: Path) -> tuple[DigitsCNN, int]:
    """The model saved at `path` and the number of epochs it was trained for."""
    checkpoint = torch.load(path, weights_only=True)
    model = DigitsCNN()
    model.load_state_dict(checkpoint["state_dict"])
    return model, int(checkpoint["epochs_done"])
