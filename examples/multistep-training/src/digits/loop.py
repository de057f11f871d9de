"""Training and evaluation loops shared by the steps, with one fixed seed and one thread."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from digits.data import Split
from trainyard import job

SEED = 0


def setup() -> None:
    """Same results on every run; one thread, as steps may share a small machine."""
    torch.manual_seed(SEED)
    torch.set_num_threads(1)


@dataclass(frozen=True)
class Score:
    """Mean cross-entropy loss and accuracy on a split."""

    loss: float
    accuracy: float


def evaluate(model: nn.Module, split: Split) -> Score:
    """`model`'s loss and accuracy on `split`."""
    model.eval()
    with torch.no_grad():
        logits = model(split.images)
        loss = nn.functional.cross_entropy(logits, split.labels).item()
        accuracy = (logits.argmax(1) == split.labels).float().mean().item()
    return Score(loss, accuracy)


def fit(
    model: nn.Module,
    split: Split,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    after_epoch: Callable[[int, float], None],
) -> None:
    """Train `model` on `split` with Adam; `after_epoch(epoch, mean loss)` after each epoch."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(split))
        total = 0.0
        for start in range(0, len(split), batch_size):
            batch = order[start : start + batch_size]
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(split.images[batch]), split.labels[batch])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        after_epoch(epoch, total / len(split))


@dataclass(frozen=True)
class Hyper:
    """The workflow's training parameters, as this step received them."""

    epochs: int
    batch_size: int
    lr: float

    @classmethod
    def from_job(cls) -> Hyper:
        """Read `epochs`, `batch_size` and `lr` from the step's input parameters."""
        return cls(
            epochs=job.param("epochs", int, default=8),
            batch_size=job.param("batch_size", int, default=32),
            lr=job.param("lr", float, default=0.003),
        )


def train_and_log(
    model: nn.Module, fit_on: Split, report_on: Split, hyper: Hyper, epochs_done: int
) -> int:
    """Train on `fit_on`, logging the epoch's loss and the accuracy on `report_on` against the
    number of epochs trained in all steps so far; returns that number at the end."""

    def after_epoch(epoch: int, loss: float) -> None:
        score = evaluate(model, report_on)
        job.metrics.log(step=epochs_done + epoch, loss=loss, accuracy=score.accuracy)
        print(f"epoch {epoch}/{hyper.epochs}: loss {loss:.4f}, accuracy {score.accuracy:.4f}")

    fit(
        model,
        fit_on,
        epochs=hyper.epochs,
        batch_size=hyper.batch_size,
        lr=hyper.lr,
        after_epoch=after_epoch,
    )
    return epochs_done + hyper.epochs
