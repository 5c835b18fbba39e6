"""What pruning saves when the model ships: whole hidden units removed (structured rules, shrink), sparse execution,
the plain-PyTorch and ONNX exports, and the side-by-side measurement of every way to deploy."""
