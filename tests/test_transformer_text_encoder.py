"""The transformer text-encoder option (paper Table VI's BERT): tiny random BERT, training, save/load, remote code."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertModel, BertTokenizerFast

from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
from dmr_jrg_hf.data.synthetic import generate_synthetic_benchmark
from dmr_jrg_hf.errors import ConfigError, DataFormatError
from dmr_jrg_hf.model_builder import build_model_and_processor
from dmr_jrg_hf.modeling_dmr_jrg import DMRJRGModel
from dmr_jrg_hf.modules.transformer_text_encoder import TransformerSentenceEncoder
from dmr_jrg_hf.processing_dmr_jrg import DMRJRGProcessor
from dmr_jrg_hf.tokenization_dmr_jrg import tokenize

sys.path.insert(0, str(Path(__file__).resolve().parent / "hub"))
from hub_helpers import SavedFolder, load_isolated  # noqa: E402

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
LSTM_PARAMETERS = [
    f"sentence_encoder.lstm.{name}_l0{suffix}"
    for suffix in ("", "_reverse")
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
]


@pytest.fixture(scope="module")
def benchmark():
    return generate_synthetic_benchmark(
        num_train_videos=16, num_validation_videos=0, num_test_videos=4, feature_dim=12, max_sentences=4, seed=3
    )


def save_tiny_bert(folder: Path, benchmark) -> Path:
    """A random BERT (hidden 32, 2 layers) and a WordPiece tokenizer of the benchmark words, saved to ``folder``."""
    words = sorted({word for row in benchmark.paragraphs["train"] for s in row["sentences"] for word in tokenize(s)})
    folder.mkdir(parents=True)
    (folder / "vocab.txt").write_text("\n".join([*SPECIALS, *words]) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab=str(folder / "vocab.txt"))
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64
    )
    BertModel(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def bert_folder(tmp_path_factory, benchmark) -> Path:
    return save_tiny_bert(tmp_path_factory.mktemp("text_encoder") / "tiny-bert", benchmark)


def build(bert_folder: Path, benchmark, **overrides):
    config = DMRJRGConfig.from_preset("tiny", text_encoder=str(bert_folder), **overrides)
    return build_model_and_processor(config, benchmark.paragraphs["train"], seed=0)


def batch_of(processor: DMRJRGProcessor, benchmark, rows=slice(0, 4)):
    rows = benchmark.paragraphs["train"][rows]
    return processor(
        text=[row["sentences"] for row in rows],
        video_features=[benchmark.features[row["video_id"]] for row in rows],
        durations=[row["duration"] for row in rows],
    )


def test_processor_gives_subword_ids_and_never_masks_special_tokens(bert_folder, benchmark):
    model, processor = build(bert_folder, benchmark)
    tokenizer = processor.subword_vocabulary
    assert model.config.vocab_size == len(tokenizer) == processor.vocab_size
    assert (model.config.pad_token_id, model.config.mask_token_id) == (tokenizer.pad_token_id, tokenizer.mask_token_id)
    batch = batch_of(processor, benchmark)
    first = benchmark.paragraphs["train"][0]["sentences"][0]
    expected = tokenizer(first)["input_ids"]
    assert batch["word_ids"][0, 0, : len(expected)].tolist() == expected, "subword ids with [CLS] ... [SEP]"
    special = torch.isin(batch["word_ids"], torch.tensor(tokenizer.all_special_ids))
    masked = batch["masked_positions"]
    assert masked.any() and not (masked & special).any(), "only real subwords are reconstruction targets"
    assert (batch["masked_word_ids"][masked] == tokenizer.mask_token_id).all()
    assert torch.equal(batch["masked_word_ids"][~masked], batch["word_ids"][~masked])
    assert model.word_vectors is None and isinstance(model.sentence_encoder, TransformerSentenceEncoder)


def test_pretrained_weights_are_copied_in(bert_folder, benchmark):
    model, _ = build(bert_folder, benchmark)
    pretrained = BertModel.from_pretrained(bert_folder).state_dict()
    own = model.sentence_encoder.transformer.state_dict()
    assert own.keys() <= pretrained.keys() and not any(name.startswith("pooler") for name in own)
    for name, tensor in own.items():
        torch.testing.assert_close(tensor, pretrained[name], rtol=0, atol=0, msg=name)


def train_steps(model: DMRJRGModel, batch, steps: int) -> list[float]:
    model.train()
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    losses = []
    for _ in range(steps):
        loss = model(**batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("frozen", [False, True])
def test_trains_and_loss_falls(bert_folder, benchmark, frozen):
    model, processor = build(bert_folder, benchmark, freeze_text_encoder=frozen)
    losses = train_steps(model, batch_of(processor, benchmark), steps=6)
    assert np.isfinite(losses).all() and losses[-1] < losses[0] - 0.1, f"frozen={frozen}: {losses}"


def test_frozen_and_fine_tuned_differ_in_which_parameters_get_gradients(bert_folder, benchmark):
    for frozen in (False, True):
        model, processor = build(bert_folder, benchmark, freeze_text_encoder=frozen)
        model.train()
        assert model.sentence_encoder.transformer.training is not frozen, "a frozen transformer runs without dropout"
        model(**batch_of(processor, benchmark)).loss.backward()
        encoder = model.sentence_encoder
        transformer_grads = [p.grad for p in encoder.transformer.parameters()]
        projection_grad = encoder.projection.weight.grad
        assert projection_grad is not None and projection_grad.abs().sum() > 0, f"frozen={frozen}: projection trains"
        if frozen:
            assert all(grad is None for grad in transformer_grads)
            assert not any(p.requires_grad for p in encoder.transformer.parameters())
        else:
            assert all(grad is not None for grad in transformer_grads)
            word_embeddings = encoder.transformer.embeddings.word_embeddings.weight.grad
            assert word_embeddings.abs().sum() > 0, "fine-tuned: gradients reach the subword embeddings"


def outputs(model: DMRJRGModel, batch) -> dict[str, torch.Tensor]:
    with torch.no_grad():
        out = model.eval()(**batch, return_loss=False)
    return {"score_maps": out.score_maps, "paragraphs": out.paragraph_embeddings, "videos": out.video_embeddings}


def test_save_pretrained_round_trip_needs_nothing_from_the_source(tmp_path, benchmark):
    source = save_tiny_bert(tmp_path / "bert", benchmark)
    model, processor = build(source, benchmark)
    train_steps(model, batch_of(processor, benchmark), steps=2)
    expected = outputs(model, batch_of(processor, benchmark))
    model.save_pretrained(tmp_path / "saved")
    processor.save_pretrained(tmp_path / "saved")
    shutil.rmtree(source)  # the folder carries the transformer's config, weights and tokenizer
    saved = json.loads((tmp_path / "saved" / "config.json").read_text())
    assert saved["text_encoder_config"]["hidden_size"] == 32 and saved["text_encoder"] == str(source)
    loaded = DMRJRGModel.from_pretrained(tmp_path / "saved")
    loaded_processor = DMRJRGProcessor.from_pretrained(tmp_path / "saved")
    assert loaded_processor.vocabulary is None and loaded_processor.vocab_size == processor.vocab_size
    found = outputs(loaded, batch_of(loaded_processor, benchmark))
    for name, value in expected.items():
        torch.testing.assert_close(found[name], value, rtol=0, atol=1e-6, msg=name)


@pytest.mark.slow
def test_trust_remote_code_loads_the_transformer_text_encoder(tmp_path, benchmark):
    from dmr_jrg_hf.hub import save_for_hub

    source = save_tiny_bert(tmp_path / "bert", benchmark)
    model, processor = build(source, benchmark)
    model.eval()
    folder = save_for_hub(model, processor, tmp_path / "hub")
    shutil.rmtree(source)
    assert (folder / "modules_transformer_text_encoder.py").is_file(), "the encoder's module is flattened"
    paragraphs = [row["sentences"] for row in benchmark.paragraphs["train"][:2]]
    batch = batch_of(processor, benchmark, slice(0, 2))
    inputs = {name: batch[name].numpy() for name in ("word_ids", "word_mask", "sentence_mask", "clip_features")}
    inputs["map_mask"] = batch["map_mask"].numpy()
    np.savez(tmp_path / "inputs.npz", paragraphs=json.dumps(paragraphs), **inputs)
    t = {name: torch.as_tensor(value) for name, value in inputs.items()}
    with torch.no_grad():
        maps = model.ground(t["word_ids"], t["word_mask"], t["sentence_mask"], t["clip_features"], t["map_mask"])
    found, stdout = load_isolated(str(folder), SavedFolder(folder, tmp_path / "inputs.npz", {}), tmp_path)
    assert stdout.split()[-3].startswith("transformers_modules."), f"remote code was not used: {stdout}"
    np.testing.assert_allclose(found["maps"], maps.numpy(), atol=1e-6)
    np.testing.assert_array_equal(found["word_ids"], processor(text=paragraphs)["word_ids"].numpy())


def test_hub_folder_check_asks_for_the_tokenizer_instead_of_the_word_vocabulary(tmp_path, bert_folder, benchmark):
    from dmr_jrg_hf.hub.model_folder import check_model_folder, save_for_hub

    model, processor = build(bert_folder, benchmark)
    folder = save_for_hub(model, processor, tmp_path / "hub", with_remote_code=False)
    assert check_model_folder(folder) == folder and not (folder / "vocab.json").exists()
    (folder / "tokenizer_config.json").unlink()
    with pytest.raises(DataFormatError, match="missing tokenizer_config.json"):
        check_model_folder(folder)


def test_default_config_keeps_the_bilstm_model(benchmark):
    model, processor = build_model_and_processor("tiny", benchmark.paragraphs["train"], seed=0)
    assert model.config.text_encoder == "bilstm" and model.config.text_encoder_config is None
    names = [name for name, _ in model.named_parameters() if name.startswith("sentence_encoder.")]
    assert names == LSTM_PARAMETERS, "the default text encoder is the paper's Bi-LSTM, nothing more"
    assert "word_vectors" in dict(model.named_buffers()) and processor.subword_vocabulary is None
    assert "uses_subword_vocabulary" in processor.to_dict() and not processor.to_dict()["uses_subword_vocabulary"]


def test_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="text_encoder_config is the config of a transformer"):
        DMRJRGConfig.from_preset("tiny", text_encoder_config={"model_type": "bert"})
    with pytest.raises(ConfigError, match="is neither 'bilstm' nor a transformers model"):
        DMRJRGModel(DMRJRGConfig.from_preset("tiny", text_encoder=str(tmp_path / "missing")))
