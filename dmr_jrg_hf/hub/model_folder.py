"""Model folders for sharing: save one complete (`save_for_hub`), finish one the trainer or the demo saved
(`complete_model_folder`), and check one before it is pushed (`check_model_folder`).

A finished folder holds the weights (safetensors only), the processor files, the flattened remote code with its
``auto_map`` (`dmr_jrg_hf.hub.remote_code`) and the model card ``README.md`` (`dmr_jrg_hf.hub.model_card`).
"""

from __future__ import annotations

from pathlib import Path

from ..configuration_dmr_jrg import DMRJRGConfig
from ..errors import DataFormatError
from ..files import read_json_file
from ..modeling_dmr_jrg import DMRJRGModel
from ..processing_dmr_jrg import DMRJRGProcessor
from .model_card import write_model_card
from .remote_code import export_remote_code, remote_code_sources

__all__ = [
    "MODEL_FOLDER_FILES",
    "SUBWORD_VOCABULARY_FILES",
    "UNSAFE_SUFFIXES",
    "check_model_folder",
    "complete_model_folder",
    "completion_files",
    "save_for_hub",
]

# What `save_pretrained` of the model and the processor must have written (the processor adds word_vectors too).
MODEL_FOLDER_FILES = ("config.json", "model.safetensors", "processor_config.json", "vocab.json")
# With a transformer text encoder (config.text_encoder, Table VI) the processor writes its tokenizer instead of the
# word vocabulary: ``vocab.json`` is replaced by these.
SUBWORD_VOCABULARY_FILES = ("tokenizer_config.json", "tokenizer.json")
# Pickle-based weight files: never shared, never uploaded.
UNSAFE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")


def save_for_hub(
    model: DMRJRGModel,
    processor: DMRJRGProcessor,
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
        **card_fields: passed to `write_model_card` (``model_name``, ``datasets``, ...).

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
        **card_fields: `write_model_card` arguments.

    Returns:
        Path: the folder.

    Raises:
        DataFormatError: the folder has no ``config.json``.
    """
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise DataFormatError(f"{folder}: no config.json; not a saved DMR-JRG model folder")
    config = DMRJRGConfig.from_pretrained(folder)
    processor = DMRJRGProcessor.from_pretrained(folder)
    export_remote_code(folder)
    write_model_card(folder, evaluation=evaluation, config=config, processor=processor, **card_fields)
    return folder


def completion_files() -> tuple[str, ...]:
    """Names of the files `complete_model_folder` adds to a saved model folder: the model card and the remote code.

    Example:
        >>> names = completion_files()
        >>> names[0], "modeling_dmr_jrg.py" in names
        ('README.md', True)
    """
    return ("README.md", *remote_code_sources())


def check_model_folder(folder: str | Path) -> Path:
    """Check that a folder holds a complete safetensors-only DMR-JRG checkpoint before it is shared.

    Raises:
        DataFormatError: a required file is missing or a pickle-based weight file is present (both named).
    """
    folder = Path(folder)
    required = [*MODEL_FOLDER_FILES, "README.md"]
    processor_config = folder / "processor_config.json"
    settings = read_json_file(processor_config) if processor_config.is_file() else {}
    if isinstance(settings, dict) and settings.get("uses_subword_vocabulary", False):
        required[required.index("vocab.json") : required.index("vocab.json") + 1] = SUBWORD_VOCABULARY_FILES
    missing = [name for name in required if not (folder / name).is_file()]
    if missing:
        raise DataFormatError(
            f"{folder}: missing {', '.join(missing)}; write the folder with dmr_jrg_hf.hub.save_for_hub(model, "
            "processor, folder), or finish a trained one with dmr_jrg_hf.hub.complete_model_folder(folder)"
        )
    unsafe = sorted(path.name for path in folder.iterdir() if path.suffix in UNSAFE_SUFFIXES)
    if unsafe:
        raise DataFormatError(f"{folder}: pickle-based files {unsafe}; only safetensors weights are shared")
    return folder
