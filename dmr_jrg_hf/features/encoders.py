"""Hugging Face vision encoders as frame-feature extractors: rows of RGB frames in, L2-normalised vectors out.

`VisionEncoder.from_pretrained` takes a Hub id or a local folder and loads the model with `AutoModel` (the class the
folder names when it is a vision tower with a projection) and its `AutoImageProcessor`. Two kinds:

- **image** encoders (CLIP, SigLIP, ViT, DINOv2, ...) read one frame per feature row. The default,
  ``openai/clip-vit-base-patch32``, is loaded as `CLIPVisionModelWithProjection`: the vision tower and its projection
  only (a full CLIP checkpoint's text tower is not loaded), so a row is CLIP's image embedding (D = 512).
- **clip** encoders (VideoMAE and other models whose config has ``num_frames``) read a stack of ``num_frames`` frames
  per row; the sampling rule spreads the stack evenly over the row's ``1 / fps`` seconds.

The vector of a row is, in order of preference: the model's ``get_image_features`` (dual encoders), its
``image_embeds``, its ``pooler_output``, else the mean of ``last_hidden_state`` over tokens. It is computed in the
model's dtype, cast to float32 and L2-normalised.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError
from .spec import DEFAULT_ENCODER

__all__ = ["DEFAULT_ENCODER", "DTYPES", "VisionEncoder", "encoder_name", "resolve_device"]

logger = logging.getLogger(__name__)

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_device(device: str) -> torch.device:
    """``"auto"``: the first CUDA GPU when there is one, else the CPU; anything else as ``torch.device`` parses it.

    Raises:
        ConfigError: an unknown device string, or CUDA asked for where there is none.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as error:
        raise ConfigError(f"device {device!r}: expected auto, cpu, cuda or cuda:N ({error})") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r}: no CUDA GPU is available here; use --device cpu or auto")
    return resolved


def encoder_name(name_or_path: str | Path) -> str:
    """The name a feature file records for an encoder: a Hub id as given, a local folder as its absolute path."""
    path = Path(name_or_path).expanduser()
    return str(path.resolve()) if path.is_dir() else str(name_or_path)


def _load_model(name_or_path: str, dtype: torch.dtype):
    import transformers
    from transformers import AutoConfig, AutoModel, CLIPVisionModelWithProjection

    config = AutoConfig.from_pretrained(name_or_path)
    if config.model_type == "clip":  # a full CLIP checkpoint: its vision tower and projection only
        vision_config = config.vision_config
        vision_config.projection_dim = config.projection_dim
        return CLIPVisionModelWithProjection.from_pretrained(name_or_path, config=vision_config, dtype=dtype)
    named = [getattr(transformers, name, None) for name in config.architectures or []]
    if CLIPVisionModelWithProjection in named:  # AutoModel would load it without its projection
        return CLIPVisionModelWithProjection.from_pretrained(name_or_path, dtype=dtype)
    return AutoModel.from_pretrained(name_or_path, dtype=dtype)


class VisionEncoder:
    """A vision model and its image processor that turn rows of frames into L2-normalised feature vectors.

    Args:
        model (transformers.PreTrainedModel): the vision model, on its device, in eval mode.
        image_processor (transformers.BaseImageProcessor): its preprocessing.
        name (str): recorded in the feature files (`encoder_name` of the Hub id or folder).
        frames_per_row (int): 1 for image encoders, ``config.num_frames`` for clip encoders.

    Example:
        >>> import tempfile, numpy as np
        >>> from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection
        >>> folder = tempfile.mkdtemp()
        >>> config = CLIPVisionConfig(hidden_size=32, intermediate_size=37, num_hidden_layers=1,
        ...                           num_attention_heads=4, image_size=32, patch_size=8, projection_dim=16)
        >>> CLIPVisionModelWithProjection(config).save_pretrained(folder)
        >>> _ = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size=32).save_pretrained(folder)
        >>> encoder = VisionEncoder.from_pretrained(folder, device="cpu")
        >>> rows = [[np.zeros((48, 64, 3), np.uint8)], [np.full((48, 64, 3), 255, np.uint8)]]
        >>> features = encoder.encode(encoder.preprocess(rows))
        >>> features.shape, np.allclose(np.linalg.norm(features, axis=1), 1.0)
        ((2, 16), True)
    """

    def __init__(self, model, image_processor, name: str, frames_per_row: int = 1):
        self.model = model
        self.image_processor = image_processor
        self.name = name
        self.frames_per_row = int(frames_per_row)

    @property
    def kind(self) -> str:
        """``"image"`` (one frame per row) or ``"clip"`` (a stack of ``frames_per_row`` frames)."""
        return "image" if self.frames_per_row == 1 else "clip"

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.model.parameters()).dtype

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path, device: str = "auto", dtype: str = "fp32") -> VisionEncoder:
        """Load a vision encoder from a Hub id or a local folder (offline with ``HF_HUB_OFFLINE=1``).

        Args:
            name_or_path (str or Path): e.g. ``openai/clip-vit-base-patch32`` or a folder written by
                ``save_pretrained`` holding the model and its ``preprocessor_config.json``.
            device (str): ``auto`` (GPU when available), ``cpu``, ``cuda``, ``cuda:1``.
            dtype (str): ``fp32``, ``bf16`` or ``fp16``: the weights' and the computation's dtype.

        Raises:
            ConfigError: an unknown dtype or device, or a model or image processor that cannot be loaded (names it).
        """
        from transformers import AutoImageProcessor

        if dtype not in DTYPES:
            raise ConfigError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        target = resolve_device(device)
        name = str(name_or_path)
        try:
            model = _load_model(name, DTYPES[dtype])
            image_processor = AutoImageProcessor.from_pretrained(name)
        except (OSError, ValueError, KeyError) as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise ConfigError(
                f"encoder {name!r}: cannot load a vision model and its image processor ({first_line})"
            ) from error
        frames_per_row = int(getattr(model.config, "num_frames", None) or 1)
        logger.info(
            "encoder %s: %s on %s (%s), %d frame(s) per row", name, type(model).__name__, target, dtype, frames_per_row
        )
        return cls(model.to(target).eval(), image_processor, encoder_name(name_or_path), frames_per_row)

    def preprocess(self, rows: list[list[np.ndarray]]) -> torch.Tensor:
        """Pixel values of rows of RGB frames (``(height, width, 3)`` uint8), on the CPU.

        Returns:
            torch.Tensor of shape (num_rows, 3, height, width) for image encoders, or (num_rows, frames_per_row, 3,
            height, width) for clip encoders (the image processor's size).
        """
        inputs = [row[0] for row in rows] if self.kind == "image" else rows
        return self.image_processor(inputs, return_tensors="pt")["pixel_values"]

    @torch.inference_mode()
    def encode(self, pixel_values: torch.Tensor) -> np.ndarray:
        """L2-normalised float32 features of preprocessed rows.

        Returns:
            np.ndarray of shape (num_rows, feature_dim), float32, each row of unit norm.
        """
        pixel_values = pixel_values.to(self.device, self.dtype)
        if hasattr(self.model, "get_image_features"):
            outputs = self.model.get_image_features(pixel_values=pixel_values)
        else:
            outputs = self.model(pixel_values=pixel_values)
        features = _row_vectors(outputs).float()  # (num_rows, feature_dim)
        return torch.nn.functional.normalize(features, dim=-1).cpu().numpy()


def _row_vectors(outputs) -> torch.Tensor:
    if isinstance(outputs, torch.Tensor):
        return outputs
    for name in ("image_embeds", "pooler_output"):
        value = getattr(outputs, name, None)
        if value is not None:
            return value
    return outputs.last_hidden_state.mean(dim=1)  # (num_rows, num_tokens, hidden) -> (num_rows, hidden)
