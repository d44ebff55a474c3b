"""Arrays on their way to a chart."""

from __future__ import annotations

import numpy as np

FLOAT32_SAFE = 1e38   # float32 overflows at 3.4e38


def plot_array(a) -> np.ndarray:
    """float32 (half the bytes to send) unless a value would overflow it, as a diverged run's can."""
    a = np.asarray(a, dtype=np.float64)
    return a.astype(np.float32) if not np.any(np.abs(a) > FLOAT32_SAFE) else a
