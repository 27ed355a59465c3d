"""Self-contained remote code: flattened copies of the package modules for ``trust_remote_code=True``.

Without the package installed, ``AutoModel.from_pretrained(repo, trust_remote_code=True)`` runs the code files stored
next to the weights. transformers copies remote code files into one flat folder and follows only ``from .name import
...`` imports between them, so `export_remote_code` writes *flattened* copies of the package modules the model and the
processor need: ``modules/fusion.py`` becomes ``modules_fusion.py``, and every relative import (``from ..errors
import``, ``from .modules.fusion import``) is rewritten to the flat sibling (``from .errors import``, ``from
.modules_fusion import``). The set of files is the closure of the relative imports of ``modeling_dmr_jrg.py`` and
``processing_dmr_jrg.py``, computed from their syntax trees, so a new module is picked up without a list to maintain.
``config.json`` and ``processor_config.json`` get the ``auto_map`` that points at the flat files.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

from ..errors import DataFormatError

__all__ = ["REMOTE_CODE_AUTO_MAP", "export_remote_code", "remote_code_sources"]

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
REMOTE_CODE_ROOTS = ("modeling_dmr_jrg.py", "processing_dmr_jrg.py")
REMOTE_CODE_AUTO_MAP = {
    "AutoConfig": "configuration_dmr_jrg.DMRJRGConfig",
    "AutoModel": "modeling_dmr_jrg.DMRJRGModel",
    "AutoProcessor": "processing_dmr_jrg.DMRJRGProcessor",
}


def _flat_name(relative: Path) -> str:
    """``modules/fusion.py`` -> ``modules_fusion``: the module name of a package file in the flat folder."""
    return "_".join(relative.with_suffix("").parts)


def _resolve_import(source: Path, node: ast.ImportFrom) -> Path:
    """The package file a relative ``from ... import`` of ``source`` (relative to the package root) points at."""
    base = source.parent
    for _ in range(node.level - 1):
        base = base.parent
    if node.module is None:
        raise DataFormatError(
            f"dmr_jrg_hf/{source}: line {node.lineno}: `from {'.' * node.level} import ...` cannot be flattened for "
            "remote code; import from the module file instead"
        )
    target = base.joinpath(*node.module.split("."))
    if (PACKAGE_ROOT / target).with_suffix(".py").is_file():
        return target.with_suffix(".py")
    raise DataFormatError(
        f"dmr_jrg_hf/{source}: line {node.lineno}: relative import of '{node.module}' is not a module file of the "
        "package (package __init__ imports cannot be flattened for remote code)"
    )


def _relative_imports(source: Path) -> list[tuple[ast.ImportFrom, Path]]:
    tree = ast.parse((PACKAGE_ROOT / source).read_text(encoding="utf-8"))
    return [
        (node, _resolve_import(source, node))
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level > 0
    ]


def _flatten(source: Path) -> str:
    """Source text of one package file with every relative import rewritten to its flat sibling module."""
    lines = (PACKAGE_ROOT / source).read_text(encoding="utf-8").splitlines()
    for node, target in sorted(_relative_imports(source), key=lambda item: -item[0].lineno):
        flat = ast.ImportFrom(module=_flat_name(target), names=node.names, level=1)
        indent = lines[node.lineno - 1][: node.col_offset]
        lines[node.lineno - 1 : node.end_lineno] = [indent + ast.unparse(flat)]
    header = f"# Flattened copy of dmr_jrg_hf/{source.as_posix()} for trust_remote_code (dmr_jrg_hf.hub); do not edit."
    return "\n".join([header, *lines]) + "\n"


def remote_code_sources() -> dict[str, str]:
    """Flattened code files of the model and the processor: ``{file name: source text}``.

    Returns:
        dict[str, str]: e.g. ``modeling_dmr_jrg.py``, ``configuration_dmr_jrg.py``, ``modules_fusion.py``, ... (the
        closure of the relative imports of `REMOTE_CODE_ROOTS`).

    Raises:
        DataFormatError: a relative import that cannot be flattened (a package ``__init__`` import).
    """
    pending, seen = [Path(name) for name in REMOTE_CODE_ROOTS], set()
    while pending:
        source = pending.pop()
        if source not in seen:
            seen.add(source)
            pending.extend(target for _, target in _relative_imports(source))
    return {f"{_flat_name(source)}.py": _flatten(source) for source in sorted(seen)}


def _add_auto_map(path: Path, entries: dict[str, str]) -> None:
    if path.is_file():
        data = json.loads(path.read_text(encoding="utf-8"))
        data["auto_map"] = {**data.get("auto_map", {}), **entries}
        path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def export_remote_code(save_directory: str | Path) -> list[Path]:
    """Write the flattened code files into a saved folder and point ``auto_map`` at them.

    ``config.json`` gets ``AutoConfig``/``AutoModel``/``AutoProcessor`` entries and ``processor_config.json`` (when
    present) the ``AutoProcessor`` entry, so ``Auto*.from_pretrained(folder, trust_remote_code=True)`` works where the
    package is not installed.

    Args:
        save_directory (str or Path): a folder written by ``model.save_pretrained`` (and the processor's).

    Returns:
        list[Path]: the code files written.

    Raises:
        DataFormatError: the folder has no ``config.json``.
    """
    directory = Path(save_directory)
    if not (directory / "config.json").is_file():
        raise DataFormatError(f"{directory}: no config.json; save the model with save_pretrained first")
    written = []
    for name, text in remote_code_sources().items():
        (directory / name).write_text(text, encoding="utf-8")
        written.append(directory / name)
    _add_auto_map(directory / "config.json", REMOTE_CODE_AUTO_MAP)
    _add_auto_map(directory / "processor_config.json", {"AutoProcessor": REMOTE_CODE_AUTO_MAP["AutoProcessor"]})
    return written
