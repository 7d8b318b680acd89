"""Shared fixtures. ``-m 'not slow'`` skips the load/soak/tool-suite tests locally."""

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(20261127)
