"""The digits data set that ships inside scikit-learn, split the same way in every step."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

SPLIT_SEED = 0
"""Fixed, so that the test split stays held out whichever step re-derives it."""
TEST_SHARE = 0.2
MINORITY_DIGITS = (5, 6, 7, 8, 9)
MINORITY_SHARE = 0.1
"""Pretraining keeps only this share of each minority digit's training images."""


@dataclass(frozen=True)
class Split:
    """Images (N, 1, 8, 8) scaled to [0, 1] and their labels (N,)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)


def _split(images: np.ndarray, labels: np.ndarray) -> Split:
    x = torch.from_numpy(images.astype(np.float32) / 16.0).reshape(-1, 1, 8, 8)
    return Split(x, torch.from_numpy(labels.astype(np.int64)))


def train_and_test() -> tuple[Split, Split]:
    """The training split (80%) and the held-out test split (20%), stratified by digit."""
    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.data,
        digits.target,
        test_size=TEST_SHARE,
        stratify=digits.target,
        random_state=SPLIT_SEED,
    )
    return _split(x_train, y_train), _split(x_test, y_test)


def imbalanced(split: Split) -> Split:
    """`split` with only MINORITY_SHARE of the images of each of MINORITY_DIGITS."""
    rng = np.random.default_rng(SPLIT_SEED)
    labels = split.labels.numpy()
    keep = np.ones(len(labels), dtype=bool)
    for digit in MINORITY_DIGITS:
        where = np.flatnonzero(labels == digit)
        dropped = rng.permutation(where)[max(1, round(MINORITY_SHARE * len(where))) :]
        keep[dropped] = False
    index = torch.from_numpy(np.flatnonzero(keep))
    return Split(split.images[index], split.labels[index])
