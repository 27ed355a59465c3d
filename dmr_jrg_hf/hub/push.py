"""Push to the Hub: a finished model folder to a model repository, an exported benchmark to a dataset repository.

The Hub endpoint is ``HF_ENDPOINT`` (read by ``huggingface_hub`` at import).
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..errors import InputError
from .model_folder import UNSAFE_SUFFIXES, check_model_folder

__all__ = ["push_benchmark_to_hub", "push_model_to_hub"]

logger = logging.getLogger(__name__)


def _upload(folder: Path, repo_id: str, repo_type: str, token, private: bool, commit_message: str) -> str:
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    repo_id = api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True).repo_id
    info = api.upload_folder(
        repo_id=repo_id,
        repo_type=repo_type,
        folder_path=str(folder),
        commit_message=commit_message,
        ignore_patterns=[f"*{suffix}" for suffix in UNSAFE_SUFFIXES] + ["checkpoints/*", "runs/*", "logs/*"],
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
    """Push a folder written by `save_for_hub` or finished by `complete_model_folder` (model + processor + code +
    card) to a model repository.

    Training checkpoints and logs (``checkpoints/``, ``runs/``, ``logs/``) are not uploaded.

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
