"""Step `train`: go on from the pretrained model on the whole training split."""

from __future__ import annotations

from digits import data, loop
from digits.model import load, save
from trainyard import job


def main() -> None:
    """Train; input and output artifacts `model` and `tensorboard`."""
    loop.setup()
    train, _ = data.train_and_test()
    model, done = load(job.input("model"))
    print(f"training on {len(train)} images, from a model trained for {done} epochs")
    done = loop.train_and_log(model, train, train, loop.Hyper.from_job(), epochs_done=done)
    save(model, done, job.output("model"))


if __name__ == "__main__":
    main()
