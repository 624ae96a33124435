"""pytest plugin: each test sees only the secrets it (and the fixtures it shares) resolved.

``osiris.masking.process_masker`` gathers every secret resolved in the process, as it should in
a CLI run. A test run is one process for hundreds of pipelines, so without this a three-letter
password of one test masks text in another (a wheel's sha256 turned into ``…787***37ec…``).
Load it with ``-p osiris.testing.isolation`` (the workspace's pytest settings do).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _process_masker_per_test() -> Iterator[None]:
    from osiris.masking import process_masker

    saved = process_masker.snapshot()
    yield
    process_masker.restore(saved)
