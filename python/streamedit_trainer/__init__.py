"""StreamEdit's probabilistic pixel correspondence (PPCE) trainer: PyTorch training, ONNX export, parity helpers.

Interface of the model and of the training data directory: io_spec.py.
"""
