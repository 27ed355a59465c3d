"""Model cards: Hub metadata (``model-index`` from the evaluation JSON) and the README.md of a saved DMR-JRG model.

The one template is ``model_card.md`` next to this module (Jinja, shipped as package data); ``model_cards/README.md``
explains it. `write_model_card` fills it from the model config, the processor's feature-extractor description and an
evaluation JSON (``{"model": {protocol: {metric: value}}, "untrained": ..., "baselines": {name: {...}}, "benchmark":
{...}}`` as written by ``dmr-jrg evaluate`` and the demo), so every number on the card comes with its protocol.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import DataFormatError
from ..metrics.report import PROTOCOL_DESCRIPTIONS, PROTOCOLS

__all__ = [
    "MODEL_CARD_TEMPLATE",
    "load_evaluation",
    "results_markdown",
    "model_card_data",
    "render_model_card",
    "write_model_card",
]

MODEL_CARD_TEMPLATE = Path(__file__).resolve().parent / "model_card.md"
TASK_TYPE = "video-paragraph-retrieval-and-grounding"
_CONFIG_FIELDS = (
    "feature_dim",
    "hidden_size",
    "word_embedding_dim",
    "vocab_size",
    "num_clips",
    "map_scale_layers",
    "supervision",
    "use_retrieval_branch",
    "use_temporal_adjacent_network",
    "temporal_sync_directions",
    "use_global_branch",
    "use_score_distillation",
    "learning_rate",
    "num_train_epochs",
    "train_batch_size",
)


def load_evaluation(evaluation: Mapping | str | Path | None) -> dict[str, Any]:
    """Read an evaluation JSON (path or dict) into ``{"model": {protocol: {metric: value}}, ...}``.

    A bare ``{protocol: {metric: value}}`` dict is taken as the model's results.

    Raises:
        DataFormatError: the file is not JSON or has neither a ``model`` entry nor protocol keys (names the file).
    """
    if evaluation is None:
        return {}
    name = str(evaluation) if isinstance(evaluation, str | Path) else "evaluation"
    if isinstance(evaluation, str | Path):
        try:
            evaluation = json.loads(Path(evaluation).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise DataFormatError(f"{name}: cannot read the evaluation JSON ({error})") from error
    if "model" not in evaluation:
        if not evaluation or not set(evaluation) <= set(PROTOCOLS):
            raise DataFormatError(
                f"{name}: expected {{'model': {{protocol: {{metric: value}}}}, ...}} or protocol keys "
                f"{list(PROTOCOLS)}, got keys {sorted(evaluation)}"
            )
        evaluation = {"model": evaluation}
    return dict(evaluation)


def _systems(evaluation: Mapping[str, Any]) -> dict[str, Mapping[str, Mapping[str, float]]]:
    """Rows of the results tables: this model, the untrained model and every baseline, in that order."""
    systems = {"DMR-JRG (this model)": evaluation["model"]}
    if evaluation.get("untrained"):
        systems["DMR-JRG (untrained)"] = evaluation["untrained"]
    systems.update({f"baseline: {name}": value for name, value in (evaluation.get("baselines") or {}).items()})
    return systems


def results_markdown(evaluation: Mapping[str, Any]) -> list[dict[str, str]]:
    """One Markdown table per protocol (rows: systems, columns: metrics), protocols in `PROTOCOLS` order.

    Returns:
        list[dict]: ``{"name", "description", "table"}`` per protocol present in ``evaluation["model"]``.

    Example:
        >>> results_markdown({"model": {"retrieval": {"R@1": 50.0}}})[0]["table"].splitlines()[2]
        '| DMR-JRG (this model) | 50.00 |'
    """
    systems = _systems(evaluation)
    present = list(evaluation["model"])
    ordered = [p for p in PROTOCOLS if p in present] + sorted(set(present) - set(PROTOCOLS))
    sections = []
    for protocol in ordered:
        metrics = list(dict.fromkeys(m for results in systems.values() for m in results.get(protocol, {})))
        lines = ["| system | " + " | ".join(metrics) + " |", "|---" * (len(metrics) + 1) + "|"]
        for name, results in systems.items():
            values = [results.get(protocol, {}).get(metric) for metric in metrics]
            lines.append(f"| {name} | " + " | ".join("-" if v is None else f"{float(v):.2f}" for v in values) + " |")
        sections.append(
            {"name": protocol, "description": PROTOCOL_DESCRIPTIONS.get(protocol, ""), "table": "\n".join(lines)}
        )
    return sections


def model_card_data(
    evaluation: Mapping[str, Any],
    model_name: str,
    datasets: Sequence[str] = (),
    dataset_name: str | None = None,
    dataset_split: str | None = None,
    license: str = "apache-2.0",
):
    """Hub metadata: ``library_name``, tags, datasets, metrics and ``model-index`` results of the evaluation.

    Each metric of ``evaluation["model"]`` becomes one ``EvalResult`` whose ``metric_type`` is
    ``"<protocol>/<metric>"`` (e.g. ``vprg/R@1,IoU=0.5``).

    Returns:
        huggingface_hub.ModelCardData
    """
    from huggingface_hub import EvalResult, ModelCardData

    benchmark = evaluation.get("benchmark") or {}
    dataset_name = dataset_name or benchmark.get("name") or (datasets[0] if datasets else "unspecified")
    dataset_split = dataset_split or benchmark.get("split")
    results = [
        EvalResult(
            task_type=TASK_TYPE,
            task_name=f"Video paragraph retrieval and grounding ({protocol})",
            dataset_type=dataset_name,
            dataset_name=dataset_name,
            dataset_split=dataset_split,
            metric_type=f"{protocol}/{metric}",
            metric_name=f"{protocol} {metric}",
            metric_value=round(float(value), 4),
        )
        for protocol, metrics in (evaluation.get("model") or {}).items()
        for metric, value in metrics.items()
    ]
    return ModelCardData(
        library_name="dmr_jrg_hf",
        license=license,
        tags=["video-retrieval", "video-grounding", "temporal-grounding", "weakly-supervised", "dmr-jrg"],
        datasets=list(datasets) or None,
        metrics=["recall"] if results else None,
        model_name=model_name,
        eval_results=results or None,
    )


def _feature_rows(processor, config) -> list[tuple[str, str]]:
    spec = dict(getattr(processor, "video_feature_spec", None) or {})
    spec.setdefault("feature_dim", getattr(processor, "feature_dim", None) or getattr(config, "feature_dim", None))
    spec.setdefault("normalisation", "per-frame L2 (applied by the processor)")
    return [(str(key), str(value)) for key, value in spec.items() if value is not None]


def _evaluation_text(evaluation: Mapping[str, Any]) -> str:
    if not evaluation:
        return "No evaluation results were given when this card was written."
    benchmark = dict(evaluation.get("benchmark") or {})
    name = benchmark.pop("name", "the benchmark named in the metadata")
    details = ", ".join(f"{key} {value}" for key, value in benchmark.items())
    return (
        f"Evaluated on {name}{f' ({details})' if details else ''}. Each table below is one protocol "
        "(`dmr_jrg_hf.metrics`), described under its name; the untrained model and the timestamp-free baselines "
        "(`dmr_jrg_hf.metrics.baselines`), where given, are reference rows."
    )


def render_model_card(
    evaluation: Mapping | str | Path | None = None,
    config=None,
    processor=None,
    model_name: str = "DMR-JRG",
    repo_id: str = "path/to/model",
    datasets: Sequence[str] = (),
    training_data: str | None = None,
    template_path: str | Path = MODEL_CARD_TEMPLATE,
) -> str:
    """Render the model card (YAML metadata + Markdown) as text.

    Args:
        evaluation (dict, str or Path, optional): evaluation JSON (`load_evaluation`).
        config (DMRJRGConfig, optional): settings table, K and the grid.
        processor (DMRJRGProcessor, optional): feature-extractor description and vocabulary size.
        model_name (str): title and ``model-index`` name.
        repo_id (str): shown in the usage snippet.
        datasets (Sequence[str]): Hub dataset ids for the metadata.
        training_data (str, optional): a sentence on the training data (default: from the evaluation's benchmark).
    """
    from huggingface_hub import ModelCard

    from ..version import __version__

    evaluation = load_evaluation(evaluation)
    benchmark = evaluation.get("benchmark") or {}
    num_clips = getattr(config, "num_clips", None)
    card = ModelCard.from_template(
        model_card_data(evaluation, model_name, datasets),
        template_path=str(template_path),
        model_name=model_name,
        repo_id=repo_id,
        supervision_text=_supervision_text(getattr(config, "supervision", "weak")),
        feature_rows=_feature_rows(processor, config),
        num_sampled_frames=getattr(config, "num_sampled_frames", "-"),
        num_clips=num_clips or "K",
        num_valid_cells=config.num_valid_cells if config is not None else "-",
        clip_fraction=f"1/{num_clips}" if num_clips else "1/K",
        vocab_size=processor.vocab_size if processor is not None else getattr(config, "vocab_size", "-"),
        training_data=training_data or f"Trained on {benchmark.get('name', 'the dataset named in the metadata')}.",
        objective_text=_objective_text(config),
        config_rows=[(name, getattr(config, name)) for name in _CONFIG_FIELDS] if config is not None else [],
        evaluation_text=_evaluation_text(evaluation),
        protocols=results_markdown(evaluation) if evaluation else [],
        package_version=__version__,
    )
    return str(card)


_EQ23_WEIGHTS = (
    "retrieval_loss_weight",
    "local_loss_weight",
    "global_loss_weight",
    "temporal_loss_weight",
    "distillation_loss_weight",
)
# Loss terms of the package that are not in the paper (config weight -> what it adds); 0 switches each off.
_EXTRA_OBJECTIVES = {
    "clip_alignment_weight": "sentence-clip multiple-instance alignment",
    "alignment_pseudo_label_weight": "score-map pseudo-labels from that alignment",
}


def _objective_text(config) -> str:
    """One sentence on the training objective: Eq. 23, its weights that are not 1, and the extra terms that are on."""
    if config is None:
        return ""
    weights = [f"`{name}` = {getattr(config, name)}" for name in _EQ23_WEIGHTS if getattr(config, name) != 1.0]
    extras = [
        f"{text} (`{name}` = {getattr(config, name)})"
        for name, text in _EXTRA_OBJECTIVES.items()
        if getattr(config, name)
    ]
    text = f"Objective `{config.objective}`: the paper's Eq. 23" + (f" with {', '.join(weights)}" if weights else "")
    if extras:
        text += ", plus terms that are not in the paper: " + "; ".join(extras)
    return text + "."


def _supervision_text(supervision: str) -> str:
    return {
        "weak": "**weak supervision**: paragraph-video pairs only, no timestamps",
        "full": "full supervision (2D-TAN loss on annotated timestamps) on top of the weak losses",
        "semi": "semi-supervision: a fraction of the paragraphs with timestamps, the rest weak",
    }.get(supervision, supervision)


def write_model_card(directory: str | Path, evaluation: Mapping | str | Path | None = None, **fields) -> Path:
    """Write ``README.md`` (the model card) into a saved model folder.

    Args:
        directory (str or Path): the model folder.
        evaluation (dict, str or Path, optional): evaluation JSON; ``directory/results.json`` or
            ``directory/eval_results.json`` is used when it exists and nothing is given.
        **fields: `render_model_card` arguments (``config``, ``processor``, ``model_name``, ``repo_id``, ...).

    Returns:
        Path: the README.md written.
    """
    directory = Path(directory)
    if evaluation is None:
        found = [directory / name for name in ("results.json", "eval_results.json") if (directory / name).is_file()]
        evaluation = found[0] if found else None
    path = directory / "README.md"
    path.write_text(render_model_card(evaluation, **fields), encoding="utf-8")
    return path
