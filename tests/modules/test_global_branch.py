from __future__ import annotations

import torch

from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
from dmr_jrg_hf.modules.class_token_encoder import VideoClassTokenEncoder
from dmr_jrg_hf.modules.global_branch import GlobalAlignmentBranch, fuse_top_candidates


def test_cmff_picks_the_right_cells_of_the_right_sample():
    batch, num_sentences, hidden, num_clips = 2, 2, 3, 4
    # every feature is a code of (sample, sentence, channel, cell) so a wrong gather shows
    codes = torch.arange(batch * num_sentences * hidden * num_clips * num_clips, dtype=torch.float32)
    maps = codes.reshape(batch, num_sentences, hidden, num_clips, num_clips)
    top_cells = torch.tensor([[[5, 0, 15], [1, 2, 3]], [[10, 11, 4], [6, 5, 0]]])  # samples differ
    weights = torch.tensor([0.4, 0.3, 0.3])
    fused = fuse_top_candidates(maps, top_cells, weights)
    for b in range(batch):
        for m in range(num_sentences):
            flat = maps[b, m].reshape(hidden, -1)
            expected = sum(w * flat[:, c] for w, c in zip(weights, top_cells[b, m], strict=True))
            assert torch.allclose(fused[b, m], expected), f"sample {b}, sentence {m}"


def test_cmff_follows_a_batch_permutation():
    maps = torch.randn(3, 2, 4, 5, 5)
    top_cells = torch.randint(0, 25, (3, 2, 3))
    weights = torch.tensor([0.5, 0.3, 0.2])
    order = torch.tensor([2, 0, 1])
    assert torch.allclose(
        fuse_top_candidates(maps, top_cells, weights)[order],
        fuse_top_candidates(maps[order], top_cells[order], weights),
    )


def test_global_branch_shares_the_video_encoder_and_has_its_own_class_token():
    config = DMRJRGConfig.from_preset("tiny")
    encoder, branch = VideoClassTokenEncoder(config), GlobalAlignmentBranch(config)
    torch.nn.init.normal_(branch.class_token)
    torch.nn.init.normal_(encoder.class_token)
    maps = torch.randn(2, 3, 16, 8, 8)
    top = torch.randint(0, 64, (2, 3, 3))
    sentence_mask = torch.tensor([[True, True, True], [True, True, False]])
    fused = branch(maps, top, sentence_mask, torch.randn(2, 16), encoder)
    assert fused.shape == (2, 16)
    fused.sum().backward()
    assert encoder.encoder.layers[0].linear1.weight.grad.abs().sum() > 0, "E3 runs E1's layers"
    assert encoder.class_token.grad is None, "E3 uses its own class token, not E1's"
    assert branch.class_token.grad.abs().sum() > 0
    assert not any(p is q for p in branch.parameters() for q in encoder.parameters()), "no copy registered twice"


def test_global_branch_fusion_weights_follow_the_learnable_switch():
    fixed = GlobalAlignmentBranch(DMRJRGConfig.from_preset("tiny"))
    learnable = GlobalAlignmentBranch(DMRJRGConfig.from_preset("tiny", learnable_candidate_fusion_weights=True))
    assert "candidate_fusion_weights" not in dict(fixed.named_parameters())
    assert "candidate_fusion_weights" in dict(learnable.named_parameters())
    assert fixed.candidate_fusion_weights.tolist() == [0.4000000059604645, 0.30000001192092896, 0.30000001192092896]
