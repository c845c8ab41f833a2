"""The seam with traiNNer-redux (its own ``traiNNer`` package and option schema): ``dalisr run train.py``."""
