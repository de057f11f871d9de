"""Step `prune`: zero the `prune_amount` share of weights with the smallest magnitude (over
all layers together), fine-tune with those kept at zero, then make the zeros permanent."""

from __future__ import annotations

from torch.nn.utils import prune

from digits import data, loop
from digits.model import load, save, sparsity
from trainyard import job


def main() -> None:
    """Prune and fine-tune; output parameter `sparsity`, artifacts `model`, `tensorboard`."""
    loop.setup()
    amount = job.param("prune_amount", float)
    train, _ = data.train_and_test()
    model, done = load(job.input("model"))
    prune.global_unstructured(model.prunable(), pruning_method=prune.L1Unstructured, amount=amount)
    right_after = loop.evaluate(model, train)
    job.metrics.log(step=done, accuracy=right_after.accuracy, sparsity=sparsity(model))
    print(f"pruned {amount:.0%} of the weights: accuracy {right_after.accuracy:.4f}, fine-tuning")
    done = loop.train_and_log(model, train, train, loop.Hyper.from_job(), epochs_done=done)
    for layer, name in model.prunable():
        prune.remove(layer, name)  # the mask is applied for good: zeros in the state dict
    share = sparsity(model)
    job.metrics.log(step=done, sparsity=share)
    job.output_parameter("sparsity", f"{share:.4f}")
    print(f"sparsity {share:.4f}")
    save(model, done, job.output("model"))


if __name__ == "__main__":
    main()
