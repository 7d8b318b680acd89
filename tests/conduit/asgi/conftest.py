"""The face helpers (tests/conduit/faces/_faces.py) serve this folder's apps under uvicorn and granian."""

import sys
from pathlib import Path

FACES = str(Path(__file__).parent.parent / "faces")
if FACES not in sys.path:
    sys.path.insert(0, FACES)
