"""The ``face`` fixture: each test module here runs once per face (module-scoped servers).

A module sets ``FACE_APP = "module:attribute"`` to bring its own app (default
``face_app:app``); see :mod:`_faces`.
"""

from __future__ import annotations

import pytest

from _faces import FACES, serve_face


@pytest.fixture(scope="module", params=FACES)
def face(request):
    target = getattr(request.module, "FACE_APP", "face_app:app")
    with serve_face(request.param, target) as served:
        yield served


@pytest.fixture()
def http(face):
    with face.client() as client:
        yield client
