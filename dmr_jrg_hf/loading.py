"""Load a saved DMR-JRG model folder (or Hub repository) with its processor, checking every file first.

`DMRJRGModel.from_pretrained` reports a missing local folder as a failed Hub download and a truncated weight file
as a deserialisation error; `load_pretrained` names the folder or the file instead.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ConfigError, DataFormatError
from .files import check_safetensors_file, read_json_file

__all__ = ["load_pretrained"]

_JSON_FILES = ("config.json", "processor_config.json", "vocab.json")
_SAFETENSORS_FILES = ("model.safetensors", "word_vectors.safetensors")


def _looks_like_a_path(name: str) -> bool:
    """A Hub id is ``name`` or ``namespace/name``; anything else (absolute, relative with ./, deeper) is a folder."""
    return name.startswith((".", "/", "~")) or name.count("/") > 1 or (os.sep != "/" and os.sep in name)


def _check_folder(folder: Path) -> None:
    if not folder.is_dir():
        raise ConfigError(f"model {folder}: not a folder")
    missing = [name for name in (*_JSON_FILES, *_SAFETENSORS_FILES) if not (folder / name).is_file()]
    if missing:
        raise DataFormatError(f"model folder {folder}: missing {', '.join(missing)}; not a saved DMR-JRG model")
    for name in _JSON_FILES:
        content = read_json_file(folder / name)
        if name.endswith("config.json") and not isinstance(content, dict):
            raise DataFormatError(f"{folder / name}: expected a JSON object")
    for name in _SAFETENSORS_FILES:
        check_safetensors_file(folder / name)


def load_pretrained(name_or_path: str | Path, eval_mode: bool = True):
    """``(DMRJRGModel, DMRJRGProcessor)`` of a folder written by ``save_pretrained`` / ``dmr-jrg train``, or of a Hub
    repository id.

    Args:
        name_or_path (str or Path): a local folder, or ``namespace/name`` on the Hub.
        eval_mode (bool): return the model in eval mode (inference).

    Raises:
        ConfigError: the folder does not exist (and the name is not a Hub id that could be fetched), or its config
            is not a DMR-JRG config (another ``model_type``).
        DataFormatError: a file is missing, truncated or not valid JSON (named).
    """
    from .modeling_dmr_jrg import DMRJRGModel
    from .processing_dmr_jrg import DMRJRGProcessor

    name = str(name_or_path)
    folder = Path(name).expanduser()
    if folder.exists():
        _check_folder(folder)
    elif _looks_like_a_path(name) or os.environ.get("HF_HUB_OFFLINE", "0").upper() in {"1", "ON", "YES", "TRUE"}:
        raise ConfigError(f"model folder {name} does not exist")
    try:
        model = DMRJRGModel.from_pretrained(name)
        processor = DMRJRGProcessor.from_pretrained(name)
    except OSError as error:
        raise ConfigError(f"model {name!r}: no such folder, and the Hub could not provide it ({error})") from error
    return (model.eval() if eval_mode else model), processor
