"""Step `pretrain`: train from scratch on an imbalanced subset, where digits 5-9 are scarce."""

from __future__ import annotations

from digits import data, loop
from digits.model import DigitsCNN, save
from trainyard import job


def main() -> None:
    """Pretrain; output artifacts `model` and `tensorboard`."""
    loop.setup()
    train, _ = data.train_and_test()
    subset = data.imbalanced(train)
    print(f"pretraining on {len(subset)} of {len(train)} training images (digits 5-9 scarce)")
    model = DigitsCNN()
    done = loop.train_and_log(model, subset, train, loop.Hyper.from_job(), epochs_done=0)
    save(model, done, job.output("model"))


if __name__ == "__main__":
    main()
