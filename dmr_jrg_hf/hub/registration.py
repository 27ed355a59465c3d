"""Auto* registration: ``import dmr_jrg_hf`` makes ``AutoConfig``, ``AutoModel`` and ``AutoProcessor`` resolve the
``dmr_jrg`` model type to the package classes (no ``trust_remote_code`` needed where the package is installed)."""

from __future__ import annotations

from transformers import AutoConfig, AutoModel, AutoProcessor

from ..configuration_dmr_jrg import DMRJRGConfig
from ..modeling_dmr_jrg import DMRJRGModel
from ..processing_dmr_jrg import DMRJRGProcessor

__all__ = ["register_auto_classes"]


def register_auto_classes() -> None:
    """Register the DMR-JRG classes with ``AutoConfig``, ``AutoModel`` and ``AutoProcessor`` (idempotent).

    Called by ``import dmr_jrg_hf``.

    Example:
        >>> import dmr_jrg_hf
        >>> from transformers import AutoConfig
        >>> type(AutoConfig.for_model("dmr_jrg")).__name__
        'DMRJRGConfig'
    """
    AutoConfig.register(DMRJRGConfig.model_type, DMRJRGConfig, exist_ok=True)
    AutoModel.register(DMRJRGConfig, DMRJRGModel, exist_ok=True)
    AutoProcessor.register(DMRJRGConfig, DMRJRGProcessor, exist_ok=True)
