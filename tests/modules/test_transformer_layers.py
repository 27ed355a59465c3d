"""The package's Transformer stacks against `torch.nn`'s: same parameters, outputs, gradients and dropout draws."""

import pytest
import torch
from torch import nn

from dmr_jrg_hf.bench.operator_count import OperatorCounter
from dmr_jrg_hf.modules.transformer_layers import (
    TokenLayout,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)

WIDTH, HEADS, FEED_FORWARD, LAYERS = 16, 4, 32, 2


def _padding(batch: int, length: int, seed: int) -> torch.Tensor:
    """True at padding, with at least the first token real in every row."""
    padding = torch.rand(batch, length, generator=torch.Generator().manual_seed(seed)) < 0.4
    padding[:, 0] = False
    return padding


def _stacks(dropout: float):
    torch.manual_seed(0)
    ours = (
        TransformerEncoder(TransformerEncoderLayer(WIDTH, HEADS, FEED_FORWARD, dropout), LAYERS),
        TransformerDecoder(TransformerDecoderLayer(WIDTH, HEADS, FEED_FORWARD, dropout), LAYERS),
    )
    references = (
        nn.TransformerEncoder(
            nn.TransformerEncoderLayer(WIDTH, HEADS, FEED_FORWARD, dropout, batch_first=True),
            LAYERS,
            enable_nested_tensor=False,
        ),
        nn.TransformerDecoder(
            nn.TransformerDecoderLayer(WIDTH, HEADS, FEED_FORWARD, dropout, batch_first=True), LAYERS
        ),
    )
    for module, reference in zip(ours, references, strict=True):
        module.load_state_dict(reference.state_dict())  # strict: the same parameter names and shapes
    return ours, references


def _run(encoder, decoder, inputs, training: bool, seed: int = 7):
    encoder.train(training), decoder.train(training)
    clips, words, clip_padding, word_padding = inputs
    torch.manual_seed(seed)
    memory = encoder(clips, src_key_padding_mask=clip_padding)
    return memory, decoder(words, memory, tgt_key_padding_mask=word_padding, memory_key_padding_mask=clip_padding)


@pytest.fixture
def inputs():
    generator = torch.Generator().manual_seed(1)
    clips = torch.randn(5, 7, WIDTH, generator=generator, requires_grad=True)
    words = torch.randn(5, 6, WIDTH, generator=generator, requires_grad=True)
    return clips, words, _padding(5, 7, 2), _padding(5, 6, 3)


def test_parameter_names_and_initialisation_follow_torch_nn():
    torch.manual_seed(0)
    ours = TransformerDecoderLayer(WIDTH, HEADS, FEED_FORWARD, 0.1)
    torch.manual_seed(0)
    reference = nn.TransformerDecoderLayer(WIDTH, HEADS, FEED_FORWARD, 0.1, batch_first=True)
    assert list(ours.state_dict()) == list(reference.state_dict())
    for name, tensor in reference.state_dict().items():
        assert torch.equal(ours.state_dict()[name], tensor), name


@pytest.mark.parametrize("training", [False, True], ids=["eval", "training with dropout"])
def test_outputs_and_gradients_equal_torch_nn(inputs, training):
    (encoder, decoder), (reference_encoder, reference_decoder) = _stacks(dropout=0.1)
    real_words = ~inputs[3]
    results = []
    for modules in ((encoder, decoder), (reference_encoder, reference_decoder)):
        memory, decoded = _run(*modules, inputs, training)
        loss = decoded[real_words].square().sum()  # padded query rows are never read by the model
        gradients = torch.autograd.grad(
            loss, [inputs[0], inputs[1], *modules[0].parameters(), *modules[1].parameters()]
        )
        results.append((memory[~inputs[2]], decoded[real_words], gradients))
    (memory, decoded, gradients), (reference_memory, reference_decoded, reference_gradients) = results
    torch.testing.assert_close(memory, reference_memory, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(decoded, reference_decoded, rtol=1e-5, atol=1e-5)
    for gradient, reference in zip(gradients, reference_gradients, strict=True):
        torch.testing.assert_close(gradient, reference, rtol=1e-4, atol=1e-5)


def test_dropout_is_active_in_training_only(inputs):
    (encoder, decoder), _ = _stacks(dropout=0.5)
    assert not torch.equal(
        _run(encoder, decoder, inputs, True, seed=1)[1], _run(encoder, decoder, inputs, True, seed=2)[1]
    )
    assert torch.equal(
        _run(encoder, decoder, inputs, False, seed=1)[1], _run(encoder, decoder, inputs, False, seed=2)[1]
    )


def test_fewer_operators_than_torch_nn(inputs):
    (encoder, decoder), (reference_encoder, reference_decoder) = _stacks(dropout=0.1)
    counts = []
    for modules in ((encoder, decoder), (reference_encoder, reference_decoder)):
        with OperatorCounter() as counter:
            _run(*modules, inputs, True)[1].sum().backward()
        counts.append(counter.total)
    assert counts[0] < 0.85 * counts[1], counts


def _run_packed(encoder, decoder, inputs, training: bool, seed: int = 7):
    """The stacks over the real tokens; the decoder's outputs at every other real word only."""
    encoder.train(training), decoder.train(training)
    clips, words, clip_padding, word_padding = inputs
    clip_layout, word_layout = TokenLayout.from_mask(~clip_padding), TokenLayout.from_mask(~word_padding)
    queries = (~word_padding).clone()
    queries[:, 1::2] = False
    query_rows = ((~word_padding).flatten().cumsum(0) - 1)[queries.flatten()]
    torch.manual_seed(seed)
    memory = encoder.forward_packed(clip_layout.gather(clips), clip_layout)
    decoded = decoder.forward_packed(word_layout.gather(words), word_layout, memory, clip_layout, query_rows)
    return memory, decoded, queries


def test_packed_tokens_give_the_padded_outputs_and_gradients(inputs):
    (encoder, decoder), _ = _stacks(dropout=0.1)
    memory, decoded, queries = _run_packed(encoder, decoder, inputs, False)
    clip_padding = inputs[2]
    assert memory.shape == (int((~clip_padding).sum()), WIDTH) and decoded.shape == (int(queries.sum()), WIDTH)
    reference_memory, reference_decoded = _run(encoder, decoder, inputs, False)
    torch.testing.assert_close(memory, reference_memory[~clip_padding], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(decoded, reference_decoded[queries], rtol=1e-5, atol=1e-5)
    parameters = [inputs[0], inputs[1], *encoder.parameters(), *decoder.parameters()]
    gradients = torch.autograd.grad(decoded.square().sum(), parameters)
    reference_gradients = torch.autograd.grad(reference_decoded[queries].square().sum(), parameters)
    for gradient, reference in zip(gradients, reference_gradients, strict=True):
        torch.testing.assert_close(gradient, reference, rtol=1e-4, atol=1e-5)


def test_packed_tokens_apply_dropout_in_training_only(inputs):
    (encoder, decoder), _ = _stacks(dropout=0.5)
    runs = [_run_packed(encoder, decoder, inputs, training, seed)[1] for training in (True, False) for seed in (1, 2)]
    assert not torch.equal(runs[0], runs[1]), "training draws dropout"
    assert torch.equal(runs[2], runs[3]), "evaluation does not"
