"""Small helpers for JSON-safe result summaries."""
from __future__ import annotations

import math


def finite_or_none(x) -> float | None:
    """``float(x)``, or None when ``x`` is None, NaN or infinite (JSON has no NaN).

    Examples
    --------
    >>> finite_or_none(2), finite_or_none(float("nan")), finite_or_none(None)
    (2.0, None, None)
    """
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None
