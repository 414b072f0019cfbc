"""deconflict: the open protocol and reference implementation of deconfliction channels."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("deconflict")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
