"""layerwise: the package behind the Layerwise book (how deep networks shape features layer by layer)."""
from . import config

__version__ = "0.1.0"
__all__ = ["config"]
