"""examples/app.py (the Hugging Face Space entry point) and examples/requirements.txt."""

from __future__ import annotations

import importlib.metadata
import re
import runpy
from pathlib import Path

import pytest

from dmr_jrg_hf.apps import app as app_module

pytestmark = pytest.mark.slow  # end to end: `make test` runs it, `make test-fast` does not

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~; \[]", line.strip(), maxsplit=1)[0].lower().replace("_", "-") for line in requirements}


def test_space_requirements_cover_the_package_and_its_app_extra():
    lines = [line for line in (EXAMPLES / "requirements.txt").read_text().splitlines() if line and line[0] != "#"]
    needed = [
        requirement
        for requirement in importlib.metadata.requires("dmr_jrg_hf")
        if "extra ==" not in requirement or 'extra == "app"' in requirement
    ]
    assert _names(needed) <= _names(lines), f"missing from examples/requirements.txt: {_names(needed) - _names(lines)}"


def test_space_app_serves_its_folders_on_the_space_address(monkeypatch, app_folders):
    calls = []
    monkeypatch.setattr(app_module, "launch", lambda **kwargs: calls.append(kwargs))
    monkeypatch.setenv("DMR_JRG_MODEL", str(app_folders.model_dir))
    monkeypatch.setenv("DMR_JRG_INDEX", str(app_folders.index_dir))
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7861")
    monkeypatch.delenv("DMR_JRG_EXAMPLE", raising=False)
    runpy.run_path(str(EXAMPLES / "app.py"), run_name="__main__")
    assert calls == [
        {
            "model_dir": app_folders.model_dir,
            "index_dir": app_folders.index_dir,
            "host": "0.0.0.0",
            "port": 7861,
            "example": None,
        }
    ]


def test_space_app_defaults_to_loopback_and_no_index(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(app_module, "launch", lambda **kwargs: calls.append(kwargs))
    for name in ("DMR_JRG_MODEL", "GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT", "DMR_JRG_EXAMPLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DMR_JRG_INDEX", str(tmp_path / "absent"))
    runpy.run_path(str(EXAMPLES / "app.py"), run_name="__main__")
    assert calls[0]["model_dir"] == EXAMPLES / "model" and calls[0]["index_dir"] is None
    assert (calls[0]["host"], calls[0]["port"]) == ("127.0.0.1", 7860)
