"""Hugging Face Space entry point: the DMR-JRG paragraph-search app over a model folder and a corpus index.

Space layout (a Gradio Space: ``sdk: gradio`` in the Space's README)::

    app.py            this file
    requirements.txt  examples/requirements.txt
    dmr_jrg_hf/       the package folder of this repository (the Space imports it from its root)
    model/            a model folder: ``make demo``'s outputs/demo or a ``dmr-jrg train`` output
    index/            ``dmr-jrg index --model model --features FEATURES --output-dir index`` (optional: without it
                      the app indexes the synthetic test corpus at start, which suits the demo model only)

Run it here the same way: ``DMR_JRG_MODEL=outputs/demo python examples/app.py``. ``DMR_JRG_MODEL``,
``DMR_JRG_INDEX`` and ``DMR_JRG_EXAMPLE`` (the paragraph shown at start) override the folders and the example. The
app binds to 127.0.0.1 unless ``GRADIO_SERVER_NAME`` says otherwise (Spaces set it to 0.0.0.0, and the port in
``GRADIO_SERVER_PORT``); analytics are off and the page loads nothing from outside the server.
"""

from __future__ import annotations

import os
from pathlib import Path

from dmr_jrg_hf.apps.app import DEFAULT_HOST, DEFAULT_PORT, launch

HERE = Path(__file__).resolve().parent


def main() -> None:
    model_dir = Path(os.environ.get("DMR_JRG_MODEL", HERE / "model"))
    index_dir = Path(os.environ.get("DMR_JRG_INDEX", HERE / "index"))
    launch(
        model_dir=model_dir,
        index_dir=index_dir if index_dir.is_dir() else None,
        host=os.environ.get("GRADIO_SERVER_NAME", DEFAULT_HOST),
        port=int(os.environ.get("GRADIO_SERVER_PORT", DEFAULT_PORT)),
        example=os.environ.get("DMR_JRG_EXAMPLE"),
    )


if __name__ == "__main__":
    main()
