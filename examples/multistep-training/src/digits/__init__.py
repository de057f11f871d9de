"""A small CNN on scikit-learn's 8x8 handwritten digits, in four steps: pretrain on an
imbalanced subset, train on the full training split, prune and fine-tune, test on held-out data.
"""
