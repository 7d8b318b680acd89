import pytest

from conduit import Conduit, TestClient


@pytest.fixture
def app():
    return Conduit(openapi_url=None, docs_url=None) if "openapi_url" in Conduit.__init__.__code__.co_varnames else Conduit()


@pytest.fixture
def client_for():
    clients = []

    def make(app):
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client
    yield make
    for client in clients:
        client.__exit__(None, None, None)
