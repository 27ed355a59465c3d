"""The front of ``dmr_jrg_hf.hub``: every name the README, the model card docs and the examples import from it."""

from __future__ import annotations

import re

from hub_helpers import REPO_ROOT

import dmr_jrg_hf
import dmr_jrg_hf.hub

DOCUMENTS = [REPO_ROOT / "README.md", REPO_ROOT / "model_cards" / "README.md", *REPO_ROOT.glob("examples/*.py")]


def _names_used(text: str) -> set[str]:
    """Names used as ``dmr_jrg_hf.hub.NAME`` or ``from dmr_jrg_hf.hub import A, B`` (not ``hub.push.NAME``)."""
    dotted = set(re.findall(r"dmr_jrg_hf\.hub\.(\w+)\b(?!\.)", text))
    lists = re.findall(r"from dmr_jrg_hf\.hub import ([\w, ]+)", text)
    return dotted | {name.strip() for names in lists for name in names.split(",")}


def test_every_documented_name_is_on_the_front():
    used = {name: path.name for path in DOCUMENTS for name in _names_used(path.read_text(encoding="utf-8"))}
    assert {"save_for_hub", "complete_model_folder", "push_model_to_hub", "write_model_card"} <= set(used), used
    missing = {name: where for name, where in used.items() if name not in dmr_jrg_hf.hub.__all__}
    assert not missing, f"named in the docs but not exported by dmr_jrg_hf.hub: {missing}"


def test_front_and_package_names_are_the_same_objects():
    for name in dmr_jrg_hf.hub.__all__:
        assert getattr(dmr_jrg_hf.hub, name).__module__.startswith("dmr_jrg_hf.hub."), name
    for name in ("push_benchmark_to_hub", "push_model_to_hub", "save_for_hub", "write_model_card"):
        assert getattr(dmr_jrg_hf, name) is getattr(dmr_jrg_hf.hub, name), f"dmr_jrg_hf.{name}"
