"""Public names that a package imports from its submodules on first use (PEP 562), so importing the package stays
cheap (no torch, PyAV or matplotlib until a name that needs them is used)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, submodule_exports: Mapping[str, tuple[str, ...]], namespace: dict[str, Any]
) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``(__all__ names, __getattr__, __dir__)`` for ``package``, whose ``submodule_exports`` maps a submodule to the
    public names it defines; a name is imported once, then cached in the package's ``namespace``.

    Example:
        >>> names, getattr_, dir_ = lazy_exports("json", {"decoder": ("JSONDecoder",)}, {})
        >>> names, getattr_("JSONDecoder").__name__
        (['JSONDecoder'], 'JSONDecoder')
    """
    exports = {name: module for module, names in submodule_exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{exports[name]}", package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return sorted(exports), __getattr__, __dir__
