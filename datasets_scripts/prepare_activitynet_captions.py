"""ActivityNet Captions -> Hub-ready folder (paragraphs + C3D features).

    python datasets_scripts/prepare_activitynet_captions.py --annotations DIR \
        --features sub_activitynet_v1-3.c3d.hdf5 \
        --out DIR

DIR holds ``train.json``, ``val_1.json`` and ``val_2.json``; splits train / validation / test = val_2 (paper §IV-A).
"""

from __future__ import annotations

import sys

from _common import run_prepare

if __name__ == "__main__":
    sys.exit(run_prepare("activitynet_captions", __doc__.splitlines()[0]))
