"""The training step traces as one graph: `torch.compile(fullgraph=True)` raises at any graph break (a host read of
a device value, an unsupported call), which a CUDA-graph step cannot have either."""

from __future__ import annotations

import pytest
import torch
from helpers import DMRJRGModelTester

from dmr_jrg_hf.modeling_dmr_jrg import DMRJRGModel
from dmr_jrg_hf.modules.local_branch import real_sentence_index

TESTER = DMRJRGModelTester()


@pytest.mark.slow
@pytest.mark.parametrize("tan_implementation", ["winograd", "valid_cells", "dense"])
def test_the_training_step_compiles_without_graph_breaks(tan_implementation):
    config, inputs = TESTER.prepare_config_and_inputs(tan_implementation=tan_implementation)
    inputs["sentence_index"] = real_sentence_index(inputs["sentence_mask"])  # on the host, as the collator does
    torch.manual_seed(0)
    model = DMRJRGModel(config).train()
    reference = model(**inputs)
    torch._dynamo.reset()
    # the Bi-LSTM is traced with Dynamo's RNN support (off by default); "eager" runs the captured graph as is
    with torch._dynamo.config.patch(allow_rnn=True):
        output = torch.compile(model, fullgraph=True, backend="eager")(**inputs)
    for name in ("loss", "local_loss", "global_loss", "temporal_loss", "score_maps"):
        torch.testing.assert_close(output[name], reference[name], msg=f"{name} of the compiled step")
    output.loss.backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad), "the backward reaches every weight"
