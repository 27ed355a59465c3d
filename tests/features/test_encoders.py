"""Vision encoders from local folders (tiny random configs): which model class loads, which vector a row gets, the two
kinds (image, clip), bf16, and the errors for a bad device, dtype or folder."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers

from dmr_jrg_hf.errors import ConfigError
from dmr_jrg_hf.features import VisionEncoder
from dmr_jrg_hf.features.encoders import resolve_device

TINY_VISION = {"hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 1, "num_attention_heads": 4}
TINY_TEXT = {"hidden_size": 16, "intermediate_size": 20, "num_hidden_layers": 1, "num_attention_heads": 2}


def _rows(count: int, frames_per_row: int = 1) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(0)
    return [[rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(frames_per_row)] for _ in range(count)]


def _normalised(tensor: torch.Tensor) -> np.ndarray:
    return torch.nn.functional.normalize(tensor.float(), dim=-1).detach().numpy()


def test_clip_vision_tower_with_projection(tiny_clip_dir):
    encoder = VisionEncoder.from_pretrained(tiny_clip_dir, device="cpu")
    assert type(encoder.model).__name__ == "CLIPVisionModelWithProjection", "AutoModel would drop the projection"
    assert (encoder.kind, encoder.frames_per_row, encoder.name) == ("image", 1, str(tiny_clip_dir.resolve()))
    pixel_values = encoder.preprocess(_rows(3))
    assert tuple(pixel_values.shape) == (3, 3, 32, 32)
    expected = _normalised(encoder.model(pixel_values=pixel_values).image_embeds)
    np.testing.assert_allclose(encoder.encode(pixel_values), expected, atol=1e-6)
    assert encoder.encode(pixel_values).dtype == np.float32


def test_full_clip_checkpoint_loads_only_its_vision_tower(tmp_path):
    config = transformers.CLIPConfig(
        text_config={**TINY_TEXT, "vocab_size": 50, "bos_token_id": 0, "eos_token_id": 1, "pad_token_id": 1},
        vision_config={**TINY_VISION, "image_size": 32, "patch_size": 8},
        projection_dim=8,
    )
    clip = transformers.CLIPModel(config).eval()
    clip.save_pretrained(tmp_path)
    transformers.CLIPImageProcessor(size={"shortest_edge": 32}, crop_size=32).save_pretrained(tmp_path)
    encoder = VisionEncoder.from_pretrained(tmp_path, device="cpu")
    assert type(encoder.model).__name__ == "CLIPVisionModelWithProjection", "the text tower is not loaded"
    pixel_values = encoder.preprocess(_rows(2))
    with torch.no_grad():
        expected = _normalised(clip.get_image_features(pixel_values=pixel_values).pooler_output)
    np.testing.assert_allclose(encoder.encode(pixel_values), expected, atol=1e-6)


def test_dual_encoder_without_a_vision_class_uses_get_image_features(tmp_path):
    config = transformers.SiglipConfig(
        text_config={**TINY_TEXT, "vocab_size": 50},
        vision_config={**TINY_VISION, "image_size": 32, "patch_size": 8},
    )
    siglip = transformers.SiglipModel(config).eval()
    siglip.save_pretrained(tmp_path)
    transformers.SiglipImageProcessor(size={"height": 32, "width": 32}).save_pretrained(tmp_path)
    encoder = VisionEncoder.from_pretrained(tmp_path, device="cpu")
    assert type(encoder.model).__name__ == "SiglipModel"
    pixel_values = encoder.preprocess(_rows(2))
    with torch.no_grad():
        expected = _normalised(siglip.get_image_features(pixel_values=pixel_values).pooler_output)
    np.testing.assert_allclose(encoder.encode(pixel_values), expected, atol=1e-6)


def test_vision_model_without_projection_uses_its_pooler_output(tmp_path):
    config = transformers.CLIPVisionConfig(**TINY_VISION, image_size=32, patch_size=8)
    tower = transformers.CLIPVisionModel(config).eval()
    tower.save_pretrained(tmp_path)
    transformers.CLIPImageProcessor(size={"shortest_edge": 32}, crop_size=32).save_pretrained(tmp_path)
    encoder = VisionEncoder.from_pretrained(tmp_path, device="cpu")
    assert type(encoder.model).__name__ == "CLIPVisionModel"
    pixel_values = encoder.preprocess(_rows(2))
    with torch.no_grad():
        expected = _normalised(tower(pixel_values=pixel_values).pooler_output)
    np.testing.assert_allclose(encoder.encode(pixel_values), expected, atol=1e-6)


def test_videomae_is_a_clip_encoder_of_frame_stacks(tiny_videomae_dir):
    encoder = VisionEncoder.from_pretrained(tiny_videomae_dir, device="cpu")
    assert (encoder.kind, encoder.frames_per_row) == ("clip", 4)
    pixel_values = encoder.preprocess(_rows(3, frames_per_row=4))
    assert tuple(pixel_values.shape) == (3, 4, 3, 32, 32)
    with torch.no_grad():
        expected = _normalised(encoder.model(pixel_values=pixel_values).last_hidden_state.mean(dim=1))
    features = encoder.encode(pixel_values)
    assert features.shape == (3, 32)
    np.testing.assert_allclose(features, expected, atol=1e-6)


def test_bf16_encoder_is_close_to_fp32_and_returns_float32(tiny_clip_dir, tiny_clip_encoder):
    encoder = VisionEncoder.from_pretrained(tiny_clip_dir, device="cpu", dtype="bf16")
    assert encoder.dtype == torch.bfloat16
    pixel_values = tiny_clip_encoder.preprocess(_rows(4))
    features = encoder.encode(pixel_values)
    assert features.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(features, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(features, tiny_clip_encoder.encode(pixel_values), atol=5e-2)


def test_bad_settings_and_folders_are_clear_errors(tmp_path, tiny_clip_dir):
    with pytest.raises(ConfigError, match="dtype must be one of fp32, bf16, fp16, got 'int8'"):
        VisionEncoder.from_pretrained(tiny_clip_dir, device="cpu", dtype="int8")
    with pytest.raises(ConfigError, match="device 'tpu9'"):
        VisionEncoder.from_pretrained(tiny_clip_dir, device="tpu9")
    missing = tmp_path / "no-such-encoder"
    with pytest.raises(ConfigError, match=f"encoder '{missing}': cannot load a vision model"):
        VisionEncoder.from_pretrained(missing, device="cpu")


def test_device_auto_is_the_gpu_only_where_there_is_one():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA GPU is available here"):
            resolve_device("cuda")
