"""Train DMR-JRG with the Python API and Accelerate: the same script on CPU, one GPU, several GPUs or machines.

    accelerate launch examples/train.py --benchmark charades_sta --annotations DIR --features FILE --preset charades
    torchrun --nproc_per_node 2 examples/train.py --benchmark synthetic --preset synthetic --epochs 2

The steps are those of `dmr-jrg train` (which has more options): data -> config -> (model, processor) -> trainer.
"""

from __future__ import annotations

import argparse

from dmr_jrg_hf import DMRJRGConfig, DMRJRGTrainer, TrainingArguments, build_model_and_processor, load_benchmark
from dmr_jrg_hf.data.synthetic import generate_synthetic_benchmark
from dmr_jrg_hf.hub import complete_model_folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark", default="synthetic", help="synthetic or a name of `load_benchmark`")
    parser.add_argument("--annotations", help="the benchmark's annotation folder")
    parser.add_argument("--features", help="the benchmark's feature file or folder")
    parser.add_argument("--preset", default="synthetic", help="activitynet, charades, tacos, synthetic or tiny")
    parser.add_argument("--objective", help="paper (Eq. 23 exactly) or grounding (the benchmark presets' default)")
    parser.add_argument("--epochs", type=int, help="the config's num_train_epochs")
    parser.add_argument("--mixed-precision", default="no", choices=["no", "bf16", "fp16"])
    parser.add_argument("--output-dir", default="outputs/train-example")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    if args.benchmark == "synthetic":
        benchmark = generate_synthetic_benchmark(seed=args.seed)
        splits, features = benchmark.paragraphs, benchmark.features
    else:
        data = load_benchmark(args.benchmark, args.annotations, args.features)
        splits, features = data.paragraphs, data.features
    schedule = {"num_train_epochs": args.epochs} if args.epochs else {}
    config = DMRJRGConfig.from_preset(args.preset, objective=args.objective, **schedule)
    model, processor = build_model_and_processor(config, splits["train"], features=features, seed=args.seed)
    training_args = TrainingArguments(
        output_dir=args.output_dir, seed=args.seed, mixed_precision=args.mixed_precision, overwrite_output_dir=True
    )
    eval_rows = splits.get("validation") or splits.get("test")
    trainer = DMRJRGTrainer(model, processor, training_args, splits["train"], features, eval_rows=eval_rows)
    output = trainer.train()
    if trainer.accelerator.is_main_process:
        complete_model_folder(args.output_dir)  # remote code + model card: ready for `dmr-jrg push`
        print(f"best epoch {output.best_epoch}: {output.best_metric}; model in {args.output_dir}")


if __name__ == "__main__":
    main()
