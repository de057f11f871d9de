"""Step `test`: score the pruned model on the held-out test split, which no step trained on."""

from __future__ import annotations

import shutil

from digits import data, loop
from digits.model import load, sparsity
from trainyard import job


def main() -> None:
    """Test; output parameter and metric `accuracy`, artifacts `model` (as tested) and
    `tensorboard`."""
    loop.setup()
    _, test = data.train_and_test()
    model, done = load(job.input("model"))
    score = loop.evaluate(model, test)
    share = sparsity(model)
    job.metrics.log(step=done, accuracy=score.accuracy, loss=score.loss, sparsity=share)
    job.output_parameter("accuracy", f"{score.accuracy:.4f}")
    shutil.copyfile(job.input("model"), job.output("model"))
    print(
        f"test accuracy {score.accuracy:.4f} on {len(test)} held-out images, sparsity {share:.4f}"
    )


if __name__ == "__main__":
    main()
