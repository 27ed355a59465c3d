"""A small randomly initialised CLIP vision tower, saved like a Hub checkpoint: the encoder that extraction
benchmarks and tests run offline (nothing is downloaded)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["save_random_clip_encoder"]


def save_random_clip_encoder(folder: str | Path, seed: int = 0) -> Path:
    """Save a random `CLIPVisionModelWithProjection` (D = 16, 32 x 32 inputs) and its image processor in ``folder``.

    Example:
        >>> import tempfile
        >>> (save_random_clip_encoder(tempfile.mkdtemp()) / "config.json").is_file()
        True
    """
    import torch
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    config = CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=37,
        num_hidden_layers=2,
        num_attention_heads=4,
        image_size=32,
        patch_size=8,
        projection_dim=16,
    )
    torch.manual_seed(seed)
    folder = Path(folder)
    CLIPVisionModelWithProjection(config).save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder
