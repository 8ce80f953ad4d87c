"""layerwise: the package behind the Layerwise book (how deep networks shape features layer by layer)."""
from __future__ import annotations

import importlib

__version__ = "0.1.0"
__all__ = ["config"]


def __getattr__(name: str):
    """Import `layerwise.config` on first use, so `import layerwise` stays cheap: the command line
    installs its Ctrl-C handler before torch loads (an interrupt then prints one line, not a traceback)."""
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
