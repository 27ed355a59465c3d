"""Table VI on the synthetic benchmark: the paper's Word2Vec + Bi-LSTM text encoder next to a BERT-style transformer.

    OMP_NUM_THREADS=1 python examples/text_encoder_comparison.py --encoders bilstm bert bert-frozen --epochs 15

Each row trains the demo's model (preset ``synthetic``, the demo's training arguments) on the embedded synthetic
benchmark with one text encoder and evaluates it on the test split (retrieval R@k, grounding R@1/R@5 at IoU 0.3 /
0.5 / 0.7 as `dmr-jrg demo` reports them). Offline, no pretrained transformer is available, so the BERT rows use a
small *randomly initialised* BERT (``--bert-hidden``, ``--bert-layers``; WordPiece vocabulary = the benchmark's
words), fine-tuned (``bert``) or frozen (``bert-frozen``); pass ``--bert PATH`` for a pretrained one (its hidden
states are projected to the model width). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from transformers import BertConfig, BertModel, BertTokenizerFast

from dmr_jrg_hf import DMRJRGConfig
from dmr_jrg_hf.data.synthetic import SyntheticBenchmark, generate_synthetic_benchmark
from dmr_jrg_hf.metrics import format_results_table
from dmr_jrg_hf.model_builder import build_model_and_processor
from dmr_jrg_hf.tokenization_dmr_jrg import tokenize
from dmr_jrg_hf.training import DMRJRGTrainer, TrainingArguments, evaluate_model


def save_random_bert(folder: Path, benchmark: SyntheticBenchmark, hidden: int, layers: int) -> Path:
    """A randomly initialised BERT and a WordPiece tokenizer of the benchmark's training words, saved to ``folder``."""
    rows = benchmark.paragraphs["train"]
    words = sorted({word for row in rows for sentence in row["sentences"] for word in tokenize(sentence)})
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]) + "\n")
    tokenizer = BertTokenizerFast(vocab=str(folder / "vocab.txt"))
    tokenizer.save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=max(1, hidden // 32),
        intermediate_size=4 * hidden,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    return folder


def run_row(
    benchmark: SyntheticBenchmark, output_dir: Path, seed: int, epochs: int, **overrides
) -> tuple[dict, float]:
    """Train and evaluate one text encoder; returns the test metrics and the training seconds."""
    config = DMRJRGConfig.from_preset(
        "synthetic", feature_dim=benchmark.config.feature_dim, num_train_epochs=epochs, **overrides
    )
    rows, features = benchmark.paragraphs["train"], benchmark.features
    model, processor = build_model_and_processor(config, rows, seed=seed)
    args = TrainingArguments(
        output_dir=str(output_dir), overwrite_output_dir=True, seed=seed, eval_every_epochs=2, save_every_epochs=0
    )
    trainer = DMRJRGTrainer(model, processor, args, rows, features, eval_rows=benchmark.paragraphs["validation"])
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    return evaluate_model(model, processor, benchmark.paragraphs["test"], features), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoders", nargs="+", default=["bilstm", "bert", "bert-frozen"])
    parser.add_argument("--epochs", type=int, default=15, help="the demo's 15 by default")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bert", help="a pretrained transformers text encoder (Hub id or folder) for the BERT rows")
    parser.add_argument("--bert-hidden", type=int, default=64)
    parser.add_argument("--bert-layers", type=int, default=2)
    parser.add_argument("--output-dir", default="outputs/text_encoders")
    args = parser.parse_args()
    benchmark = generate_synthetic_benchmark(seed=args.seed)
    results, lines = {}, []
    with tempfile.TemporaryDirectory() as scratch:
        random_bert = Path(scratch) / "bert"
        bert = args.bert or str(save_random_bert(random_bert, benchmark, args.bert_hidden, args.bert_layers))
        choices = {
            "bilstm": ("Word2Vec + Bi-LSTM", {}),
            "bert": ("BERT (fine-tuned)", {"text_encoder": bert}),
            "bert-frozen": ("BERT (frozen)", {"text_encoder": bert, "freeze_text_encoder": True}),
        }
        for name in args.encoders:
            label, overrides = choices[name]
            metrics, seconds = run_row(benchmark, Path(args.output_dir) / name, args.seed, args.epochs, **overrides)
            results[label] = metrics
            lines.append(f"{label}: trained {args.epochs} epochs in {seconds:.0f} s")
    print(format_results_table(results))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
