"""``dmr-jrg`` command line: demo, prepare, train, evaluate, bench, index, search, push, app.

Each subcommand is a thin ``_run_<name>(args) -> int`` over a library function; heavy imports happen inside it so that
``dmr-jrg --help`` stays fast. Results go to stdout (or ``--output``), logs and progress to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import traceback
from pathlib import Path
from typing import Any

from .errors import ConfigError, DataFormatError, DMRJRGError, InputError
from .features.command import (
    add_extract_features_arguments,
    add_index_videos_arguments,
    add_videos_encoder_arguments,
)
from .validation import check_positive_int

__all__ = ["main", "build_parser", "parse_overrides"]

logger = logging.getLogger("dmr_jrg_hf")

# Commands that run long enough for the thread count to matter: they log it.
_THREADED_COMMANDS = ("demo", "train", "evaluate", "extract-features", "index", "search", "app")


def _positive_int(text: str) -> int:
    """argparse type of counts (``--epochs``, ``--top-k``, ...): 0, negatives and non-integers are usage errors."""
    try:
        return check_positive_int(int(text), "value")
    except (ValueError, InputError) as error:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from error


def parse_overrides(pairs: list[str] | None) -> dict[str, Any]:
    """``--set key=value`` pairs -> dict; values parsed as JSON when they are JSON (numbers, lists, true/false)."""
    overrides: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set expects key=value, got {pair!r}")
        try:
            overrides[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key.strip()] = value
    return overrides


def _emit(payload: dict, output: str | None) -> None:
    text = json.dumps(payload, indent=2)
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(text + "\n")
        print(f"wrote {output}", file=sys.stderr)
    else:
        print(text)


# Subcommands ---------------------------------------------------------------------------------------------------


def _run_demo(args: argparse.Namespace) -> int:
    from .apps.demo import run_demo

    result = run_demo(args.output_dir, seed=args.seed, num_train_epochs=args.epochs, show_progress=not args.quiet)
    print(result.table)
    print()
    print(result.query_report)
    for name, path in result.plots.items():
        print(f"plot ({name}): {path}")
    print(f"\nresults: {result.output_dir / 'results.json'}  model: {result.output_dir}  ({result.seconds:.0f} s)")
    return 0


def _run_prepare(args: argparse.Namespace) -> int:
    from .data import prepare_benchmark

    report = prepare_benchmark(
        args.benchmark,
        args.annotations,
        args.features,
        args.out,
        overwrite=args.overwrite,
        missing_features=args.missing_features,
    )
    print(report.summary())
    return 0


def _load_data(args: argparse.Namespace):
    """Paragraph splits and features from ``--benchmark`` (real files) or the synthetic generator."""
    if args.benchmark == "synthetic":
        from .data.synthetic import generate_synthetic_benchmark

        benchmark = generate_synthetic_benchmark(seed=args.seed)
        return benchmark.paragraphs, benchmark.features
    from .data import load_benchmark

    if not args.annotations:
        raise ConfigError(f"--benchmark {args.benchmark} needs --annotations DIR (and --features for training)")
    data = load_benchmark(args.benchmark, args.annotations, args.features)
    print(data.report.summary(), file=sys.stderr)
    return {split: list(rows) for split, rows in data.paragraphs.items()}, data.features


def _limit(rows: list, count: int | None) -> list:
    return rows if count is None else rows[:count]


def _run_train(args: argparse.Namespace) -> int:
    from .configuration_dmr_jrg import DMRJRGConfig
    from .features.spec import extractor_spec
    from .hub import complete_model_folder
    from .model_builder import build_model_and_processor
    from .training import DMRJRGTrainer, TrainingArguments
    from .training.run_folder import check_output_dir

    check_output_dir(args.output_dir, args.resume, args.overwrite)  # before any data is read
    splits, features = _load_data(args)
    if features is None:
        raise ConfigError("training needs video features: pass --features FILE_OR_DIR")
    train_rows = _limit(splits["train"], args.max_train_paragraphs)
    eval_rows = _limit(splits.get("validation") or splits.get("test") or [], args.max_eval_paragraphs) or None
    overrides = parse_overrides(args.set)
    schedule = {"num_train_epochs": args.epochs, "train_batch_size": args.batch_size}
    overrides.update({name: value for name, value in schedule.items() if value is not None})
    config = (
        DMRJRGConfig.from_json_file(args.config).with_overrides(**overrides)
        if args.config
        else DMRJRGConfig.from_preset(args.preset, ablation=args.ablation, objective=args.objective, **overrides)
    )
    model, processor = build_model_and_processor(
        config,
        train_rows,
        features=features,
        word_vectors=args.word_vectors,
        video_feature_spec=extractor_spec(features),  # encoder and rate of extracted features (None: benchmark)
        seed=args.seed,
    )
    training_args = TrainingArguments(
        output_dir=args.output_dir,
        overwrite_output_dir=args.overwrite,
        seed=args.seed,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        mixed_precision=args.mixed_precision,
        gradient_checkpointing=args.gradient_checkpointing,
        torch_compile=args.compile,
        eval_every_epochs=args.eval_every if eval_rows else 0,
        resume_from_checkpoint=args.resume,
        show_progress=not args.quiet,
    )
    trainer = DMRJRGTrainer(model, processor, training_args, train_rows, features, eval_rows=eval_rows)
    output = trainer.train()
    if trainer.accelerator.is_main_process:
        complete_model_folder(args.output_dir)  # remote code + model card: ready for `dmr-jrg push`
        summary = {
            "epochs": output.epochs_completed,
            "best_epoch": output.best_epoch,
            "best_metric": output.best_metric,
            "history": output.history,
            "output_dir": args.output_dir,
        }
        _emit(summary, args.output)
    return 0


def _run_evaluate(args: argparse.Namespace) -> int:
    from .loading import load_pretrained
    from .training import evaluate_baselines, evaluate_model

    splits, features = _load_data(args)
    if args.split not in splits:
        raise ConfigError(f"split {args.split!r} not found; available: {sorted(splits)}")
    rows = _limit(splits[args.split], args.max_eval_paragraphs)
    model, processor = load_pretrained(args.model)
    results: dict[str, Any] = {
        "model": evaluate_model(
            model, processor, rows, features, protocols=args.protocols, show_progress=not args.quiet
        )
    }
    if args.baselines:
        results["baselines"] = evaluate_baselines(rows, features, model.config.num_clips, seed=args.seed)
    _emit(results, args.output)
    return 0


def _run_bench(args: argparse.Namespace) -> int:
    from .bench import SECTIONS, BenchSettings, format_table, run_suite

    settings = BenchSettings(
        device=args.device,
        dtype=args.dtype,
        presets=tuple(args.presets),
        batch_size=args.batch_size,
        num_steps=args.steps,
        warmup_steps=args.warmup_steps,
        ablation_preset=None if args.no_ablations else args.ablation_preset,
        ablations=tuple(args.ablations) if args.ablations else None,
        ablation_batch_size=args.ablation_batch_size,
        eval_paragraphs=args.eval_paragraphs,
        eval_model=args.eval_model,
        eval_batch_size=args.eval_batch_size,
        retrieval_preset=args.retrieval_preset,
        corpus_sizes=tuple(args.corpus_sizes),
        faiss_size=args.faiss_size,
        num_queries=args.num_queries,
        ground_top_ks=tuple(args.ground_top_ks),
        data_mb=args.data_mb,
        matmul_size=args.matmul_size,
        bandwidth_mb=args.bandwidth_mb,
        threads=args.threads,
        seed=args.seed,
    )
    report = run_suite(SECTIONS if args.section == "all" else [args.section], settings)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.output}", file=sys.stderr)
    print(json.dumps(report, indent=2) if args.json else format_table(report))
    return 0


def _read_durations(path: str | None) -> dict[str, float] | None:
    """``--durations``: a JSON object ``{video_id: seconds}`` (values are checked by the processor)."""
    from .files import read_json_file

    if path is None:
        return None
    durations = read_json_file(path)
    if not isinstance(durations, dict):
        raise DataFormatError(f"{path}: expected a JSON object {{video_id: seconds}}, got {type(durations).__name__}")
    return durations


def _run_index(args: argparse.Namespace) -> int:
    from .inference import VideoCorpusIndex
    from .inference.index_files import check_index_target
    from .loading import load_pretrained

    if args.add and args.overwrite:
        raise ConfigError("--add extends the index in --output-dir and --overwrite replaces it: pass one of them")
    if not args.add:
        check_index_target(args.output_dir, args.overwrite)
    if not args.features and not args.videos:
        raise ConfigError("pass --features FILE_OR_DIR (extracted features) or --videos DIR (video files)")
    durations = _read_durations(args.durations)
    model, processor = load_pretrained(args.model)
    features, video_files = args.features, None
    if args.videos:  # extraction first, into --features (default OUTPUT_DIR.features.hdf5 beside the index)
        from .features.command import features_of_videos
        from .inference.video_features import video_files_of

        features = features_of_videos(processor, args)
        video_files = video_files_of(args.videos, features)  # recorded with the index: the app plays them
    options = {"durations": durations, "feature_rate": args.feature_rate, "batch_size": args.batch_size}
    options["video_files"] = video_files
    if args.add:
        index = VideoCorpusIndex.load(args.output_dir, backend=args.backend)
        index.add(model, processor, features, show_progress=not args.quiet, **options)
    else:
        index = VideoCorpusIndex.build(
            model,
            processor,
            features,
            backend=args.backend or "exact",
            store_clip_features=not args.no_clip_features,
            show_progress=not args.quiet,
            **options,
        )
    index.save(args.output_dir, overwrite=args.overwrite or args.add)
    summary = {"videos": len(index), "index_mb": index.memory_bytes / 2**20, "output_dir": args.output_dir}
    _emit(summary, args.output)
    return 0


def _run_extract_features(args: argparse.Namespace) -> int:
    from .features.command import run_extract_features

    return run_extract_features(args)


def _format_search_table(paragraphs: list[str], results: list[list]) -> str:
    lines = []
    for number, (paragraph, rows) in enumerate(zip(paragraphs, results, strict=True), start=1):
        lines.append(f"paragraph {number}: {paragraph}")
        lines.append(f"{'rank':>4}  {'video':<24} {'score':>7} {'duration':>9}")
        for row in rows:
            hit = getattr(row, "hit", row)
            duration = f"{row.duration:8.1f}s" if hasattr(row, "duration") else ""
            lines.append(f"{hit.rank:>4}  {hit.video_id:<24} {hit.score:7.3f} {duration:>9}")
            for index, grounding in enumerate(getattr(row, "sentences", ()), start=1):
                moment = grounding.moments[0]
                span = f"[{moment.start:7.1f}, {moment.end:7.1f}]"
                lines.append(f"{'':>6}{index:>2}. {span} {moment.score:.2f}  {grounding.sentence}")
    return "\n".join(lines)


def _save_search_plots(predictor, results: list[list], args: argparse.Namespace) -> None:
    """Retrieval, timeline and score-map figures of each paragraph's query in ``args.plot``; paths go to stderr."""
    for number, rows in enumerate(results, start=1):
        prefix = f"paragraph{number}_" if len(results) > 1 else ""
        paths = predictor.save_query_plots(rows, args.plot, file_format=args.plot_format, prefix=prefix)
        for path in paths.values():
            print(f"wrote {path}", file=sys.stderr)


def _run_search(args: argparse.Namespace) -> int:
    from .inference import DMRJRGPredictor, split_sentences

    if args.plot and args.no_ground:
        raise ConfigError("--plot draws the grounding of the best video: it cannot be combined with --no-ground")
    predictor = DMRJRGPredictor.from_pretrained(
        args.model, args.index, backend=args.backend, allow_model_mismatch=args.allow_model_mismatch
    )
    batch = [split_sentences(paragraph) for paragraph in args.paragraphs]
    if args.no_ground:
        results = predictor.retrieve(batch, args.top_k)
    else:
        results = predictor.retrieve_and_ground(batch, args.top_k, args.moments_per_sentence)
    if args.plot:
        _save_search_plots(predictor, results, args)
    if args.json or args.output:
        payload = [
            {"paragraph": p, "results": [r.to_dict() for r in rows]}
            for p, rows in zip(args.paragraphs, results, strict=True)
        ]
        _emit({"queries": payload}, args.output)
    else:
        print(_format_search_table(list(args.paragraphs), results))
    return 0


def _run_app(args: argparse.Namespace) -> int:
    from .apps import app

    index_dir = args.index
    if args.videos:  # extraction + indexing first (reused by the next start), as `index --videos`
        from .apps.video_index import prepare_video_index
        from .features.command import extraction_options

        options = extraction_options(args)
        index_dir = prepare_video_index(args.model, args.videos, index_dir, args.encoder, args.fps, **options)
    app.launch(
        model_dir=args.model,
        index_dir=index_dir,
        host=args.host,
        port=args.port,
        top_k=args.top_k,
        example=args.example,
    )
    return 0


def _run_push(args: argparse.Namespace) -> int:
    from .hub import complete_model_folder, push_benchmark_to_hub, push_model_to_hub

    if args.dataset:
        repo_id = push_benchmark_to_hub(args.folder, args.repo_id, token=args.token, private=args.private)
    else:
        if args.write_card or args.evaluation:
            complete_model_folder(args.folder, evaluation=args.evaluation, repo_id=args.repo_id)
        repo_id = push_model_to_hub(args.folder, args.repo_id, token=args.token, private=args.private)
    _emit({"repo_id": repo_id, "repo_type": "dataset" if args.dataset else "model"}, args.output)
    return 0


# Parser --------------------------------------------------------------------------------------------------------


def _add_common(parser: argparse.ArgumentParser, threads: bool = True) -> None:
    parser.add_argument("--seed", type=int, default=0, help="seed of data generation, masking and training")
    parser.add_argument("--output", help="write the JSON result here instead of stdout")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    if threads:
        _add_threads(parser)


def _add_threads(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threads",
        type=_positive_int,
        help="torch threads (default: torch's choice, one per core; on a machine shared with other jobs 1 is often "
        "much faster)",
    )


def _add_data(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--benchmark",
        default="synthetic",
        help="synthetic, activitynet_captions, charades_sta or tacos",
    )
    parser.add_argument("--annotations", help="folder with the benchmark's annotation files")
    parser.add_argument("--features", help="HDF5 file or folder of {video_id}.npy features")
    parser.add_argument("--max-eval-paragraphs", type=_positive_int, help="evaluate on the first N paragraphs only")


def _add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    from .bench.settings import SECTIONS, SUITE_BATCH_SIZES, BenchSettings  # plain Python: no torch

    defaults = BenchSettings()
    batches = ", ".join(f"{preset} {batch}" for preset, batch in SUITE_BATCH_SIZES.items())
    parser.add_argument("section", nargs="?", default="all", choices=["all", *SECTIONS], help="what to measure")
    parser.add_argument("--device", default=defaults.device, help="cpu or cuda: limits, model step, evaluation")
    parser.add_argument(
        "--dtype", default=defaults.dtype, choices=["fp32", "bf16"], help="model step (bf16: autocast)"
    )
    parser.add_argument("--presets", nargs="+", default=list(defaults.presets), help="model-step presets")
    parser.add_argument("--batch-size", type=int, help=f"B of every preset; None: {batches}")
    parser.add_argument("--steps", type=int, default=defaults.num_steps, help="timed steps per model row")
    parser.add_argument(
        "--warmup-steps", type=int, default=defaults.warmup_steps, help="untimed; the first counts FLOPs"
    )
    parser.add_argument("--ablation-preset", default=defaults.ablation_preset, help="preset of the Table IV rows")
    parser.add_argument("--ablations", nargs="+", help="Table IV rows to time; None: all of them")
    parser.add_argument("--ablation-batch-size", type=int, default=defaults.ablation_batch_size)
    parser.add_argument("--no-ablations", action="store_true", help="skip the Table IV rows")
    parser.add_argument("--eval-paragraphs", type=int, default=defaults.eval_paragraphs, help="synthetic test size")
    parser.add_argument("--eval-model", default=defaults.eval_model, help="preset, random weights")
    parser.add_argument("--eval-batch-size", type=int, default=defaults.eval_batch_size)
    parser.add_argument("--retrieval-preset", default=defaults.retrieval_preset)
    parser.add_argument("--corpus-sizes", type=int, nargs="+", default=list(defaults.corpus_sizes))
    parser.add_argument("--faiss-size", type=int, default=defaults.faiss_size, help="FAISS corpus; 0 skips it")
    parser.add_argument("--num-queries", type=int, default=defaults.num_queries, help="timed queries per corpus")
    parser.add_argument("--ground-top-ks", type=int, nargs="*", default=list(defaults.ground_top_ks))
    parser.add_argument(
        "--data-mb", type=float, default=defaults.data_mb, help="MiB of generated ActivityNet features"
    )
    parser.add_argument("--matmul-size", type=int, help="matmul side of the FLOP/s limit; None: 2048 CPU, 8192 GPU")
    parser.add_argument("--bandwidth-mb", type=int, help="MiB summed for the bandwidth; None: 1024 CPU, 4096 GPU")
    parser.add_argument("--threads", type=int, help="torch threads; None: 1 or the default, the faster matmul")
    parser.add_argument("--json", action="store_true", help="print the JSON report instead of the table")


def build_parser() -> argparse.ArgumentParser:
    formatter = argparse.ArgumentDefaultsHelpFormatter
    parser = argparse.ArgumentParser(prog="dmr-jrg", description=__doc__.splitlines()[0], formatter_class=formatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging; errors with their traceback")
    parser.add_argument("--debug", action="store_true", help="re-raise errors with their traceback")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser(
        "demo", help="train + evaluate + query on the synthetic benchmark", formatter_class=formatter
    )
    demo.add_argument("--output-dir", default="outputs/demo")
    demo.add_argument("--epochs", type=_positive_int, help="override the demo's number of epochs")
    _add_common(demo)
    demo.set_defaults(run=_run_demo)

    prepare = commands.add_parser(
        "prepare", help="raw benchmark files -> Hub-ready dataset folder", formatter_class=formatter
    )
    prepare.add_argument("benchmark", help="activitynet_captions, charades_sta or tacos")
    prepare.add_argument("--annotations", required=True)
    prepare.add_argument("--features")
    prepare.add_argument("--out", required=True, help="dataset folder to write (written aside, renamed at the end)")
    prepare.add_argument("--overwrite", action="store_true", help="replace a non-empty --out folder")
    prepare.add_argument(
        "--missing-features",
        choices=["error", "skip"],
        default="error",
        help="a paragraph whose video has no features: stop with an error, or skip it (counted in the report)",
    )
    _add_threads(prepare)
    prepare.set_defaults(run=_run_prepare)

    train = commands.add_parser("train", help="train DMR-JRG (weak supervision by default)", formatter_class=formatter)
    _add_data(train)
    train.add_argument("--preset", default="tiny", help="activitynet, charades, tacos or tiny")
    train.add_argument("--ablation", help="a Table IV row, e.g. base+vpcmr")
    train.add_argument(
        "--objective", help="paper (Eq. 23 exactly) or grounding (default of activitynet, charades and tacos)"
    )
    train.add_argument("--config", help="config.json to start from instead of a preset")
    train.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config field")
    train.add_argument("--word-vectors", help="word2vec-format file (default: Word2Vec on the training sentences)")
    train.add_argument("--output-dir", default="outputs/train")
    train.add_argument(
        "--overwrite", action="store_true", help="start a new run in an --output-dir that holds another run"
    )
    train.add_argument("--epochs", type=_positive_int, help="sets the config's num_train_epochs")
    train.add_argument("--batch-size", type=_positive_int, help="sets the config's train_batch_size (per process)")
    train.add_argument("--gradient-accumulation-steps", type=_positive_int, default=1)
    train.add_argument("--mixed-precision", default="no", choices=["no", "bf16", "fp16"])
    train.add_argument(
        "--gradient-checkpointing", action="store_true", help="recompute the TAN layers in backward (less memory)"
    )
    train.add_argument(
        "--compile", action="store_true", help="torch.compile the model (inductor; slow to start on a CPU)"
    )
    train.add_argument("--eval-every", type=int, default=1, help="validate every N epochs")
    train.add_argument("--resume", help="checkpoint folder or 'latest'")
    train.add_argument("--max-train-paragraphs", type=_positive_int, help="train on the first N paragraphs only")
    _add_common(train)
    train.set_defaults(run=_run_train)

    evaluate = commands.add_parser("evaluate", help="evaluate a saved model", formatter_class=formatter)
    _add_data(evaluate)
    evaluate.add_argument("--model", required=True, help="folder written by train/demo (or a Hub repo id)")
    evaluate.add_argument("--split", default="test")
    evaluate.add_argument("--protocols", nargs="+", default=["retrieval", "grounding", "vprg", "vcmr"])
    evaluate.add_argument("--baselines", action="store_true", help="also report timestamp-free baselines")
    _add_common(evaluate)
    evaluate.set_defaults(run=_run_evaluate)

    bench = commands.add_parser(
        "bench",
        help="model step, evaluation, retrieval, data preparation vs the machine's limits",
        formatter_class=formatter,
    )
    _add_bench_arguments(bench)
    _add_common(bench, threads=False)  # bench has its own --threads
    bench.set_defaults(run=_run_bench)

    extract = commands.add_parser(
        "extract-features", help="video files -> frame features (HDF5 or npy folder)", formatter_class=formatter
    )
    add_extract_features_arguments(extract)
    _add_threads(extract)
    extract.set_defaults(run=_run_extract_features)

    index = commands.add_parser("index", help="video features -> corpus index folder", formatter_class=formatter)
    index.add_argument("--model", required=True, help="saved model folder or Hub repo id")
    index.add_argument("--features", help="HDF5 file or folder of {video_id}.npy features (with --videos: written)")
    add_index_videos_arguments(index)
    index.add_argument("--durations", help="JSON file {video_id: seconds} (default: frames / --feature-rate)")
    index.add_argument("--feature-rate", type=float, help="feature frames per second (default: the model's spec)")
    index.add_argument("--batch-size", type=_positive_int, default=64)
    index.add_argument(
        "--backend", choices=["exact", "int8", "faiss"], help="search backend (default exact; with --add, the index's)"
    )
    index.add_argument("--no-clip-features", action="store_true", help="retrieval only: do not keep clips")
    index.add_argument("--output-dir", required=True, help="index folder to write")
    index.add_argument("--overwrite", action="store_true", help="replace an index already in --output-dir")
    index.add_argument("--add", action="store_true", help="add the videos to the index already in --output-dir")
    _add_common(index)
    index.set_defaults(run=_run_index)

    search = commands.add_parser("search", help="retrieve videos and ground a paragraph", formatter_class=formatter)
    search.add_argument("paragraphs", nargs="+", help="one or more paragraphs (sentences end with . ! or ?)")
    search.add_argument("--model", required=True, help="saved model folder or Hub repo id")
    search.add_argument("--index", required=True, help="index folder written by `dmr-jrg index`")
    search.add_argument("--top-k", type=_positive_int, default=5)
    search.add_argument("--moments-per-sentence", type=_positive_int, default=1)
    search.add_argument("--no-ground", action="store_true", help="retrieval only")
    search.add_argument("--backend", choices=["exact", "int8", "faiss"], help="override the index's backend")
    search.add_argument("--allow-model-mismatch", action="store_true", help="search an index that another model built")
    search.add_argument("--json", action="store_true", help="JSON instead of the table")
    search.add_argument("--plot", metavar="DIR", help="save the retrieval, timeline and score-map plots (viz extra)")
    search.add_argument("--plot-format", choices=["png", "svg"], default="png", help="file format of --plot")
    _add_common(search)
    search.set_defaults(run=_run_search)

    app = commands.add_parser(
        "app", help="paragraph-search web app (Gradio, needs the app extra)", formatter_class=formatter
    )
    app.add_argument("--model", default="outputs/demo", help="model folder (`make demo` writes one) or Hub id")
    app.add_argument(
        "--index",
        "--index-dir",
        dest="index",
        help="index folder (dmr-jrg index); none: index the synthetic test corpus at start (with --videos: where "
        "their index goes, default outputs/<videos name>-index)",
    )
    app.add_argument(
        "--videos",
        help="folder, file or list of video files: extract and index them at start (reused by the next start; "
        "features in INDEX.features.hdf5) and play the moments in the page",
    )
    add_videos_encoder_arguments(app)
    app.add_argument("-q", "--quiet", action="store_true", help="with --videos: no progress bars while indexing")
    app.add_argument("--host", default="127.0.0.1", help="interface to bind (0.0.0.0 serves the network)")
    app.add_argument("--port", type=int, default=7860, help="TCP port")
    app.add_argument("--top-k", type=_positive_int, default=5, help="initial number of videos")
    app.add_argument("--example", help="paragraph shown when the page opens")
    _add_threads(app)
    app.set_defaults(run=_run_app)

    push = commands.add_parser("push", help="push a model or benchmark folder to the Hub", formatter_class=formatter)
    push.add_argument("folder", help="model folder (save_for_hub / train output) or exported benchmark folder")
    push.add_argument("repo_id", help="namespace/name on the Hub (HF_ENDPOINT selects the Hub)")
    push.add_argument("--dataset", action="store_true", help="push an exported benchmark folder as a dataset repo")
    push.add_argument("--evaluation", help="evaluation JSON for the model card (implies --write-card)")
    push.add_argument("--write-card", action="store_true", help="add remote code and the model card first")
    push.add_argument("--private", action="store_true")
    push.add_argument("--token", help="Hub token (default: the saved login)")
    _add_common(push)
    push.set_defaults(run=_run_push)
    return parser


def _check_output(args: argparse.Namespace) -> None:
    """``--output`` must name a file: checked before the work starts."""
    output = getattr(args, "output", None)
    if output and Path(output).is_dir():
        raise ConfigError(f"--output {output} is a folder; give the path of the JSON file to write")


def _set_threads(args: argparse.Namespace) -> None:
    """Apply ``--threads`` and log the count a long-running command uses."""
    threads = getattr(args, "threads", None)
    if args.command not in _THREADED_COMMANDS and threads is None:
        return
    import torch

    if threads:
        torch.set_num_threads(threads)
    if args.command in _THREADED_COMMANDS:
        chosen = "--threads" if threads else "torch's default; --threads sets it"
        logger.info("torch uses %d thread(s) (%s)", torch.get_num_threads(), chosen)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``dmr-jrg``: returns 0 on success, 1 on a package error, 2 on a usage error.

    A `DMRJRGError` or an ``OSError`` (a file that cannot be read or written) prints one line, ``dmr-jrg <command>:
    error: <message>``; ``-v`` adds the traceback and ``--debug`` re-raises.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        _check_output(args)
        _set_threads(args)
        return args.run(args)
    except (DMRJRGError, OSError) as error:
        if args.debug:
            raise
        if args.verbose:
            traceback.print_exc()
        print(f"dmr-jrg {args.command}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
