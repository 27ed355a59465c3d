"""Peak resident memory of a block: a block that touches 64 MiB shows it, a quiet block does not."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from dmr_jrg_hf.bench.memory import PeakRSS, current_rss_mib, peak_rss_mib

pytestmark = pytest.mark.slow  # end to end: `make test` runs it, `make test-fast` does not


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the peak counter reset is Linux-only")
def test_peak_rss_sees_a_temporary_allocation():
    with PeakRSS() as touched:
        block = np.ones(16 * 2**20, np.float32)  # 64 MiB, every page written
        del block
    assert touched.exact
    assert touched.increase_mib >= 60, f"64 MiB touched, peak rose by {touched.increase_mib:.1f} MiB"
    with PeakRSS() as quiet:
        pass
    assert quiet.increase_mib < 30, f"nothing allocated, peak rose by {quiet.increase_mib:.1f} MiB"


def test_peak_is_at_least_the_current_rss():
    assert peak_rss_mib() >= current_rss_mib() > 0
