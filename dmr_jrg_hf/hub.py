"""Hugging Face Hub integration: Auto* registration, self-contained remote code, checkpoint folders and pushes.

Two ways to load a saved DMR-JRG folder or Hub repository:

* with the package installed, ``import dmr_jrg_hf`` registers `DMRJRGConfig`, `DMRJRGModel` and `DMRJRGProcessor`
  with ``AutoConfig``, ``AutoModel`` and ``AutoProcessor`` (`register_auto_classes`);
* without it, ``AutoModel.from_pretrained(repo, trust_remote_code=True)`` runs the code files stored next to the
  weights. transformers copies remote code files into one flat folder and follows only ``from .name import ...``
  imports between them, so `export_remote_code` writes *flattened* copies of the package modules the model and the
  processor need: ``modules/fusion.py`` becomes ``modules_fusion.py``, and every relative import (``from ..errors
  import``, ``from .modules.fusion import``) is rewritten to the flat sibling (``from .errors import``,
  ``from .modules_fusion import``). The set of files is the closure of the relative imports of
  ``modeling_dmr_jrg.py`` and ``processing_dmr_jrg.py``, computed from their syntax trees, so a new module is picked
  up without a list to maintain. ``config.json`` and ``processor_config.json`` get the ``auto_map`` that points at
  the flat files.
"""

from __future__ import annotations

import ast
import json
import logging
from pathlib import Path

from .errors import DataFormatError, InputError

__all__ = [
    "REMOTE_CODE_AUTO_MAP",
    "register_auto_classes",
    "remote_code_sources",
    "export_remote_code",
    "save_for_hub",
    "complete_model_folder",
    "check_model_folder",
    "push_model_to_hub",
    "push_benchmark_to_hub",
]

logger = logging.getLogger(__name__)

PACKAGE_ROOT = Path(__file__).resolve().parent
REMOTE_CODE_ROOTS = ("modeling_dmr_jrg.py", "processing_dmr_jrg.py")
REMOTE_CODE_AUTO_MAP = {
    "AutoConfig": "configuration_dmr_jrg.DMRJRGConfig",
    "AutoModel": "modeling_dmr_jrg.DMRJRGModel",
    "AutoProcessor": "processing_dmr_jrg.DMRJRGProcessor",
}
MODEL_FOLDER_FILES = ("config.json", "model.safetensors", "processor_config.json", "vocab.json")
_UNSAFE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")


def register_auto_classes() -> None:
    """Register the DMR-JRG classes with ``AutoConfig``, ``AutoModel`` and ``AutoProcessor`` (idempotent).

    Called by ``import dmr_jrg_hf``.

    Example:
        >>> import dmr_jrg_hf
        >>> from transformers import AutoConfig
        >>> type(AutoConfig.for_model("dmr_jrg")).__name__
        'DMRJRGConfig'
    """
    from transformers import AutoConfig, AutoModel, AutoProcessor

    from .configuration_dmr_jrg import DMRJRGConfig
    from .modeling_dmr_jrg import DMRJRGModel
    from .processing_dmr_jrg import DMRJRGProcessor

    AutoConfig.register(DMRJRGConfig.model_type, DMRJRGConfig, exist_ok=True)
    AutoModel.register(DMRJRGConfig, DMRJRGModel, exist_ok=True)
    AutoProcessor.register(DMRJRGConfig, DMRJRGProcessor, exist_ok=True)


# Remote code ---------------------------------------------------------------------------------------------------


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


# Checkpoint folders --------------------------------------------------------------------------------------------


def save_for_hub(
    model,
    processor,
    save_directory: str | Path,
    evaluation: dict | str | Path | None = None,
    with_remote_code: bool = True,
    **card_fields,
) -> Path:
    """Save model (safetensors) + processor + remote code + model card: a folder ready for `push_model_to_hub`.

    Args:
        model (DMRJRGModel): the trained model.
        processor (DMRJRGProcessor): its processor (vocabulary, word vectors, feature-extractor spec).
        save_directory (str or Path): output folder.
        evaluation (dict, str or Path, optional): evaluation JSON (``{"model": {protocol: {metric: value}}, ...}`` as
            written by ``dmr-jrg evaluate`` or the demo's ``results.json``) for the card's results.
        with_remote_code (bool): also write the flattened code files and ``auto_map`` (`export_remote_code`).
        **card_fields: passed to `dmr_jrg_hf.cards.write_model_card` (``model_name``, ``datasets``, ...).

    Returns:
        Path: the folder.

    Example:
        >>> import tempfile
        >>> from dmr_jrg_hf import DMRJRGConfig
        >>> from dmr_jrg_hf.modeling_dmr_jrg import DMRJRGModel
        >>> from dmr_jrg_hf.processing_dmr_jrg import DMRJRGProcessor
        >>> config = DMRJRGConfig.from_preset("tiny")
        >>> processor = DMRJRGProcessor.from_corpus(["a man opens the door"], config=config)
        >>> folder = save_for_hub(DMRJRGModel(config), processor, tempfile.mkdtemp())
        >>> (folder / "README.md").is_file() and (folder / "modeling_dmr_jrg.py").is_file()
        True
    """
    from .cards import write_model_card

    directory = Path(save_directory)
    model.save_pretrained(directory)
    processor.save_pretrained(directory)
    if with_remote_code:
        export_remote_code(directory)
    write_model_card(directory, evaluation=evaluation, config=model.config, processor=processor, **card_fields)
    return directory


def complete_model_folder(folder: str | Path, evaluation: dict | str | Path | None = None, **card_fields) -> Path:
    """Add remote code, ``auto_map`` and the model card to a folder saved by the trainer or the demo.

    Reads ``config.json`` and the processor files of the folder (no weights are loaded).

    Args:
        folder (str or Path): holds ``config.json``, ``model.safetensors`` and the processor files.
        evaluation (dict, str or Path, optional): evaluation JSON for the card (default: the folder's
            ``results.json`` / ``eval_results.json`` when present).
        **card_fields: `dmr_jrg_hf.cards.write_model_card` arguments.

    Returns:
        Path: the folder.
    """
    from .cards import write_model_card
    from .configuration_dmr_jrg import DMRJRGConfig
    from .processing_dmr_jrg import DMRJRGProcessor

    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise DataFormatError(f"{folder}: no config.json; not a saved DMR-JRG model folder")
    config = DMRJRGConfig.from_pretrained(folder)
    processor = DMRJRGProcessor.from_pretrained(folder)
    export_remote_code(folder)
    write_model_card(folder, evaluation=evaluation, config=config, processor=processor, **card_fields)
    return folder


def check_model_folder(folder: str | Path) -> Path:
    """Check that a folder holds a complete safetensors-only DMR-JRG checkpoint before it is shared.

    Raises:
        DataFormatError: a required file is missing or a pickle-based weight file is present (both named).
    """
    folder = Path(folder)
    missing = [name for name in (*MODEL_FOLDER_FILES, "README.md") if not (folder / name).is_file()]
    if missing:
        raise DataFormatError(
            f"{folder}: missing {', '.join(missing)}; write the folder with dmr_jrg_hf.hub.save_for_hub(model, "
            "processor, folder)"
        )
    unsafe = sorted(path.name for path in folder.iterdir() if path.suffix in _UNSAFE_SUFFIXES)
    if unsafe:
        raise DataFormatError(f"{folder}: pickle-based files {unsafe}; only safetensors weights are shared")
    return folder


def _upload(folder: Path, repo_id: str, repo_type: str, token, private: bool, commit_message: str) -> str:
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    repo_id = api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True).repo_id
    info = api.upload_folder(
        repo_id=repo_id,
        repo_type=repo_type,
        folder_path=str(folder),
        commit_message=commit_message,
        ignore_patterns=[f"*{suffix}" for suffix in _UNSAFE_SUFFIXES] + ["checkpoints/*", "runs/*", "logs/*"],
    )
    logger.info("pushed %s to %s (%s)", folder, repo_id, info.oid)
    return repo_id


def push_model_to_hub(
    folder: str | Path,
    repo_id: str,
    token: str | None = None,
    private: bool = False,
    commit_message: str = "Upload DMR-JRG model",
) -> str:
    """Push a folder written by `save_for_hub` (model + processor + code + card) to a model repository.

    The Hub endpoint is ``HF_ENDPOINT`` (read by ``huggingface_hub`` at import). Training checkpoints and logs
    (``checkpoints/``, ``runs/``, ``logs/``) are not uploaded.

    Returns:
        str: the repository id (with the namespace the Hub resolved).

    Raises:
        DataFormatError: the folder is incomplete or holds pickle files (`check_model_folder`).
    """
    return _upload(check_model_folder(folder), repo_id, "model", token, private, commit_message)


def push_benchmark_to_hub(
    folder: str | Path,
    repo_id: str,
    token: str | None = None,
    private: bool = False,
    commit_message: str = "Upload DMR-JRG benchmark",
) -> str:
    """Push an exported benchmark folder (``dmr-jrg prepare`` output: parquet + dataset card) to a dataset repo.

    Returns:
        str: the repository id.

    Raises:
        InputError: the folder does not exist or has no README.md dataset card.
    """
    folder = Path(folder)
    if not (folder / "README.md").is_file():
        raise InputError(f"{folder}: not an exported benchmark folder (no README.md dataset card)")
    return _upload(folder, repo_id, "dataset", token, private, commit_message)
