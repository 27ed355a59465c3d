"""`TrainingArguments`: the run settings' defaults, the `ConfigError` of each validated field (naming it), the
normalisation of ``eval_protocols`` and the ``to_dict`` round trip. (That the schedule is the config's, not a run
setting, is tested in test_trainer_reliability.py.)"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest

from dmr_jrg_hf.errors import ConfigError
from dmr_jrg_hf.training.arguments import MIXED_PRECISION_CHOICES, TrainingArguments

DEFAULTS = {
    "output_dir": "outputs/run",
    "overwrite_output_dir": False,
    "seed": 42,
    "gradient_accumulation_steps": 1,
    "mixed_precision": "no",
    "gradient_checkpointing": False,
    "torch_compile": False,
    "eval_every_epochs": 1,
    "best_metric": "vprg/R@1,IoU=0.5",
    "eval_protocols": ("retrieval", "grounding", "vprg"),
    "save_every_epochs": 1,
    "save_total_limit": 2,
    "resume_from_checkpoint": None,
    "max_steps_per_epoch": None,
    "log_every_steps": 10,
    "report_to_tensorboard": True,
    "show_progress": True,
    "num_workers": 0,
    "semi_supervised_seed": 0,
}

CUSTOM = {
    "output_dir": "/tmp/runs/custom",
    "overwrite_output_dir": True,
    "seed": 3,
    "gradient_accumulation_steps": 4,
    "mixed_precision": "bf16",
    "gradient_checkpointing": True,
    "torch_compile": True,
    "eval_every_epochs": 0,
    "best_metric": "retrieval/R@5",
    "eval_protocols": ["retrieval", "vcmr"],
    "save_every_epochs": 0,
    "save_total_limit": 5,
    "resume_from_checkpoint": "latest",
    "max_steps_per_epoch": 7,
    "log_every_steps": 1,
    "report_to_tensorboard": False,
    "show_progress": False,
    "num_workers": 2,
    "semi_supervised_seed": 9,
}


def test_defaults():
    args = TrainingArguments()
    assert args.to_dict() == DEFAULTS
    assert [field.name for field in fields(TrainingArguments)] == list(DEFAULTS), "field order"


def test_every_setting_is_kept():
    args = TrainingArguments(**CUSTOM)
    assert args.to_dict() == {**CUSTOM, "eval_protocols": ("retrieval", "vcmr")}


@pytest.mark.parametrize("value", MIXED_PRECISION_CHOICES)
def test_each_mixed_precision_choice_is_accepted(value):
    assert MIXED_PRECISION_CHOICES == ("no", "bf16", "fp16")
    assert TrainingArguments(mixed_precision=value).mixed_precision == value


@pytest.mark.parametrize("value", ["fp32", "BF16", "", None, True])
def test_another_mixed_precision_is_named(value):
    message = rf"^mixed_precision must be one of \('no', 'bf16', 'fp16'\), got {value!r}$"
    with pytest.raises(ConfigError, match=message):
        TrainingArguments(mixed_precision=value)


@pytest.mark.parametrize("name", ["gradient_accumulation_steps", "log_every_steps", "save_total_limit"])
@pytest.mark.parametrize("value", [0, -2, 1.5, 2.0, True, "3"])
def test_counts_must_be_positive_integers(name, value):
    with pytest.raises(ConfigError, match=rf"^{name} must be a positive integer, got {value!r}$"):
        TrainingArguments(**{name: value})


@pytest.mark.parametrize("name", ["gradient_accumulation_steps", "log_every_steps", "save_total_limit"])
def test_counts_accept_one(name):
    assert getattr(TrainingArguments(**{name: 1}), name) == 1


def test_max_steps_per_epoch_is_optional_and_else_a_positive_integer():
    assert TrainingArguments(max_steps_per_epoch=None).max_steps_per_epoch is None
    assert TrainingArguments(max_steps_per_epoch=1).max_steps_per_epoch == 1
    with pytest.raises(ConfigError, match=r"^max_steps_per_epoch must be a positive integer, got True$"):
        TrainingArguments(max_steps_per_epoch=True)


@pytest.mark.parametrize("name", ["eval_every_epochs", "save_every_epochs", "num_workers"])
def test_periods_and_workers_may_be_zero_not_negative(name):
    assert getattr(TrainingArguments(**{name: 0}), name) == 0
    assert getattr(TrainingArguments(**{name: 3}), name) == 3
    for bad in (-1, 1.5, True, "2"):
        with pytest.raises(ConfigError, match=rf"^{name} must be >= 0, got {bad!r}$"):
            TrainingArguments(**{name: bad})


def test_eval_protocols_are_known_names_and_include_the_best_metric_s():
    with pytest.raises(ConfigError, match=r"eval_protocols must be a list of protocol names, got the string 'vprg'"):
        TrainingArguments(eval_protocols="vprg")
    with pytest.raises(ConfigError, match=r"eval_protocols: unknown \['vprgg'\]; choose from"):
        TrainingArguments(eval_protocols=["vprgg"])
    with pytest.raises(ConfigError, match=r"best_metric 'vprg/R@1,IoU=0.5' reads protocol 'vprg', which"):
        TrainingArguments(eval_protocols=["retrieval"])
    assert TrainingArguments(eval_protocols=["retrieval"], eval_every_epochs=0).eval_protocols == ("retrieval",)


@pytest.mark.parametrize("value", ["R@1,IoU=0.5", "vprg", ""])
def test_best_metric_must_name_protocol_and_metric(value):
    with pytest.raises(ConfigError, match=rf"^best_metric must read 'protocol/metric', got {value!r}$"):
        TrainingArguments(best_metric=value)


def test_validation_errors_are_value_errors():
    with pytest.raises(ValueError, match="save_total_limit"):
        TrainingArguments(save_total_limit=0)


@pytest.mark.parametrize(
    "protocols",
    [["vprg", "retrieval"], ("vprg", "retrieval"), iter(["vprg", "retrieval"]), {"vprg": 1, "retrieval": 2}],
    ids=["list", "tuple", "iterator", "dict"],
)
def test_eval_protocols_are_normalised_to_a_tuple(protocols):
    args = TrainingArguments(eval_protocols=protocols)
    assert type(args.eval_protocols) is tuple
    assert args.eval_protocols == ("vprg", "retrieval"), "order kept"


@pytest.mark.parametrize("values", [{}, CUSTOM], ids=["defaults", "custom"])
def test_to_dict_round_trip(values):
    args = TrainingArguments(**values)
    assert TrainingArguments(**args.to_dict()) == args
    through_json = json.loads(json.dumps(args.to_dict()))  # tuples come back as lists
    assert TrainingArguments(**through_json) == args


def test_to_dict_is_a_copy():
    args = TrainingArguments()
    values = args.to_dict()
    values["seed"] = 0
    assert args.seed == 42
    assert TrainingArguments(**values) != args, "a changed setting makes other arguments"


def test_output_path():
    assert TrainingArguments().output_path == Path("outputs/run")
    assert TrainingArguments(output_dir="/tmp/a/b").output_path == Path("/tmp/a/b")
    args = TrainingArguments(output_dir="run")
    args.output_dir = "other"  # a property of the current folder, not a copy made at construction
    assert args.output_path == Path("other")
    assert isinstance(args.output_path, Path)
