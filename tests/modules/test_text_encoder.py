from __future__ import annotations

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
from dmr_jrg_hf.modules.text_encoder import SentenceEncoder


def _packed_reference(encoder: SentenceEncoder, embeddings: torch.Tensor, word_mask: torch.Tensor):
    """The straightforward Bi-LSTM over packed sequences (host copy of the lengths)."""
    lengths = word_mask.sum(dim=1).clamp(min=1).cpu()
    packed = pack_padded_sequence(embeddings, lengths, batch_first=True, enforce_sorted=False)
    states, (last_hidden, _) = encoder.lstm(packed)
    states, _ = pad_packed_sequence(states, batch_first=True, total_length=embeddings.shape[1])
    return states, torch.cat([last_hidden[0], last_hidden[1]], dim=-1)


def test_sentence_encoder_equals_the_packed_bilstm_with_gradients():
    encoder = SentenceEncoder(DMRJRGConfig.from_preset("tiny")).double()
    lengths = torch.tensor([5, 1, 3, 0, 4])  # sentence 3 is padding (encoded as one word)
    word_mask = torch.arange(5)[None] < lengths[:, None]
    embeddings = torch.randn(5, 5, 8, dtype=torch.float64)
    results = []
    for run in (lambda e: encoder(e, word_mask), lambda e: _packed_reference(encoder, e, word_mask)):
        encoder.zero_grad()
        inputs = embeddings.clone().requires_grad_()
        states, features = run(inputs)
        (states.sum() + (features * torch.arange(features.shape[-1])).sum()).backward()
        results.append((states, features, inputs.grad, [p.grad.clone() for p in encoder.parameters()]))
    (states, features, grad, params), (ref_states, ref_features, ref_grad, ref_params) = results
    torch.testing.assert_close(states, ref_states, msg="word states")
    torch.testing.assert_close(features, ref_features, msg="sentence features")
    torch.testing.assert_close(grad, ref_grad, msg="gradient of the embeddings")
    names = [name for name, _ in encoder.named_parameters()]
    for name, p, ref in zip(names, params, ref_params, strict=True):
        torch.testing.assert_close(p, ref, msg=f"gradient of {name}")


def test_sentence_features_do_not_depend_on_padding():
    encoder = SentenceEncoder(DMRJRGConfig.from_preset("tiny")).eval()
    embeddings = torch.randn(2, 3, 8)
    word_mask = torch.tensor([[True, True, True], [True, True, False]])
    states, features = encoder(embeddings, word_mask)
    wider = torch.cat([embeddings, torch.randn(2, 4, 8)], dim=1)
    wider_states, wider_features = encoder(wider, torch.cat([word_mask, torch.zeros(2, 4, dtype=torch.bool)], 1))
    torch.testing.assert_close(wider_features, features)
    torch.testing.assert_close(wider_states[:, :3], states)
    assert (wider_states[:, 3:] == 0).all() and (states[1, 2] == 0).all()
