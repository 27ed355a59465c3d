from __future__ import annotations

import pytest
from hub_helpers import SavedFolder, save_tiny_folder


@pytest.fixture(scope="session")
def saved(tmp_path_factory) -> SavedFolder:
    """A tiny model folder written by save_for_hub, its inputs and its reference outputs (read-only for tests)."""
    return save_tiny_folder(tmp_path_factory.mktemp("model") / "dmr-jrg-tiny")
