"""Package version, in a module of its own so that submodules can read it during the package import."""

__version__ = "0.1.0"

__all__ = ["__version__"]
