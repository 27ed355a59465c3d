"""TACoS -> Hub-ready folder (rebuilt annotator paragraphs + C3D features).

    python datasets_scripts/prepare_tacos.py --annotations DIR --features tall_c3d_features.hdf5 --out DIR

DIR holds the 2D-TAN files ``train.json``, ``val.json`` and ``test.json`` (times in frames, divided by ``fps``).
"""

from __future__ import annotations

import sys

from _common import run_prepare

if __name__ == "__main__":
    sys.exit(run_prepare("tacos", __doc__.splitlines()[0]))
