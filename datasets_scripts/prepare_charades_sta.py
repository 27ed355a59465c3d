"""Charades-STA -> Hub-ready folder (paragraphs of all a video's sentences + features).

    python datasets_scripts/prepare_charades_sta.py --annotations DIR --features vgg_rgb_features.hdf5 --out DIR

DIR holds ``charades_sta_{train,test}.txt`` and ``Charades_v1_{train,test}.csv`` (durations, column ``length``).
"""

from __future__ import annotations

import argparse
import sys

from _common import run_prepare

if __name__ == "__main__":
    extra = argparse.ArgumentParser(add_help=False)
    extra.add_argument("--sentence-order", choices=("start", "file"), default="start")
    known, rest = extra.parse_known_args()
    sys.exit(run_prepare("charades_sta", __doc__.splitlines()[0], rest, sentence_order=known.sentence_order))
