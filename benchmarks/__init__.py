"""Tooling outside the library: the step benchmark and its PyTorch mirror (``python -m benchmarks.bench``)."""
