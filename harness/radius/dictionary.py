"""The harness's RADIUS dictionary (standard attributes plus Cisco-AVPair and Aruba-User-Role)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from pyrad.dictionary import Dictionary


@lru_cache(maxsize=1)
def radius_dictionary() -> Dictionary:
    """The dictionary shipped with the package (``harness/radius/dictionary``)."""
    path = resources.files("harness.radius").joinpath("dictionary")
    with resources.as_file(path) as p:
        return Dictionary(str(p))
