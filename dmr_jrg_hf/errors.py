"""Exceptions raised by dmr_jrg_hf. Each message names the item at fault (video id, sentence, file)."""

from __future__ import annotations

__all__ = ["DMRJRGError", "ConfigError", "DataFormatError", "InputError"]


class DMRJRGError(Exception):
    """Base class of every error this package raises on purpose; the CLI prints these without a traceback."""


class ConfigError(DMRJRGError, ValueError):
    """A configuration field has a value outside its allowed range, or an unknown field was given."""


class DataFormatError(DMRJRGError, ValueError):
    """A data file or record does not follow its documented format (names the file, line or video id)."""


class InputError(DMRJRGError, ValueError):
    """An input passed to the processor, the model or an inference call is invalid (names the item)."""
