"""Train DMR-JRG with Accelerate: the same script on CPU, one GPU, several GPUs or machines.

    accelerate launch examples/train.py --benchmark charades_sta --annotations DIR --features FILE --preset charades
    torchrun --nproc_per_node 2 examples/train.py --benchmark synthetic --preset tiny --epochs 2

Every flag of `dmr-jrg train --help` is accepted.
"""

import sys

from dmr_jrg_hf.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
