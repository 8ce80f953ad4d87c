"""Pure functions of tensors, one module per family of layerwise measures."""
