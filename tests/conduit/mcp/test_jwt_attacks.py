"""Issue 21: ``JWTVerifier`` attacks, each named after it, on the real server over 127.0.0.1.

* tokens without ``sub`` shared one identity (the string ``"None"``): now refused (401)
  unless the verifier names another claim (``subject_claim=``), and two such clients never
  share sessions or tasks; identities also carry the issuer, so one ``sub`` from two
  trusted issuers is two principals;
* a token whose ``alg`` does not fit its key's type (ES256 header naming an RSA ``kid``)
  was a 500 from PyJWT: now 401 with ``WWW-Authenticate``;
* any verifier error (a custom verifier's bug, junk it returns, a subject it leaves out)
  is 401 with ``WWW-Authenticate``, never 500, and the server keeps serving;
* hypothesis: arbitrary headers and claims, signed or not, only ever yield an
  ``AccessToken`` with a subject or ``InvalidToken``.
"""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

jwt = pytest.importorskip("jwt", reason="jwt is in the test extra (./dev test installs it)")
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa  # noqa: E402

from conduit import Conduit  # noqa: E402
from conduit.mcp import MCPServer  # noqa: E402
from conduit.mcp.auth import AccessToken, InvalidToken, JWTVerifier, ResourceServer  # noqa: E402
from conduit.testing.client import LiveServer  # noqa: E402
from mcp_http_helpers import HEADERS, INIT, post  # noqa: E402

ISSUER = "https://auth.example.test"
OTHER_ISSUER = "https://other-auth.example.test"
RESOURCE = "https://mcp.example.test/mcp"

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
ED_KEY = ed25519.Ed25519PrivateKey.generate()
JWKS = {"keys": [
    {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(RSA_KEY.public_key())), "kid": "rsa", "use": "sig"},
    {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(EC_KEY.public_key())), "kid": "ec", "use": "sig"},
]}


def mint(*, key=RSA_KEY, algorithm="RS256", kid="rsa", issuer=ISSUER, drop=(), **claims) -> str:
    now = int(time.time())
    body = {"iss": issuer, "aud": RESOURCE, "sub": "user-1", "iat": now, "exp": now + 300, "scope": "mcp",
            **claims}
    for name in drop:
        body.pop(name, None)
    return jwt.encode(body, key, algorithm=algorithm, headers={"kid": kid})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict, claims: dict, key=None, algorithm: str = "RS256") -> str:
    """A JWS built by hand, so that the header may say anything (PyJWT refuses to write some)."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    if key is None:
        return signing_input + "." + _b64(b"not a signature")
    signer = jwt.get_algorithm_by_name(algorithm)
    prepared = key if algorithm == "HS256" else signer.prepare_key(key)
    return signing_input + "." + _b64(signer.sign(signing_input.encode(), prepared))


def claims_for(**claims) -> dict:
    now = int(time.time())
    return {"iss": ISSUER, "aud": RESOURCE, "sub": "user-1", "iat": now, "exp": now + 300, **claims}


def make_app(verifier) -> Conduit:
    mcp = MCPServer("jwt")

    @mcp.tool(task=True)
    async def slow(seconds: float) -> str:
        await trio.sleep(seconds)
        return "done"

    @mcp.tool()
    def ping_tool() -> str:
        return "pong"

    app = Conduit()
    app.mount_mcp("/mcp", mcp, auth=ResourceServer(RESOURCE, [ISSUER], verifier))
    return app


def assert_refused(response, description: str | None = None) -> None:
    assert response.status_code == 401, (response.status_code, response.text)
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer resource_metadata=") and 'error="invalid_token"' in challenge
    if description is not None:
        assert description in challenge, challenge


# ------------------------------------------------------------------ no sub
def test_jwt_without_sub_is_refused_401():
    app = make_app(JWTVerifier(issuer=ISSUER, jwks=JWKS))
    with LiveServer(app) as server, httpx.Client(timeout=30) as client:
        url = server.url + "/mcp"
        assert_refused(post(client, url, INIT, mint(drop=("sub",))), "no 'sub' claim")
        assert_refused(post(client, url, INIT, mint(sub="")), "no 'sub' claim")
        assert_refused(post(client, url, INIT, mint(sub=5)))  # PyJWT: the subject must be a string
        assert post(client, url, INIT, mint()).status_code == 200  # the server still serves


def test_jwt_whose_sub_is_literally_none_is_only_itself():
    """``sub: "None"`` was the identity every subject-less token fell back to; now it is one user's."""
    app = make_app(JWTVerifier(issuer=[ISSUER, OTHER_ISSUER], jwks=JWKS))
    with LiveServer(app) as server, httpx.Client(timeout=30) as client:
        url = server.url + "/mcp"
        opened = post(client, url, INIT, mint(sub="None"))
        session = opened.headers["mcp-session-id"]
        ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
        assert post(client, url, ping, mint(sub="None"), session).status_code == 200
        assert_refused(post(client, url, ping, mint(drop=("sub",)), session))
        # The same sub from another trusted issuer is another principal.
        assert post(client, url, ping, mint(sub="None", issuer=OTHER_ISSUER), session).status_code == 404


def test_two_no_sub_clients_never_share_sessions_or_tasks():
    """With ``subject_claim="client_id"``, client-credentials tokens are told apart by client."""
    app = make_app(JWTVerifier(issuer=ISSUER, jwks=JWKS, subject_claim="client_id"))
    alice, bob = mint(drop=("sub",), client_id="alice"), mint(drop=("sub",), client_id="bob")
    with LiveServer(app) as server, httpx.Client(timeout=30) as client:
        url = server.url + "/mcp"
        assert_refused(post(client, url, INIT, mint(drop=("sub",))), "no 'client_id' claim")
        a_session = post(client, url, INIT, alice).headers["mcp-session-id"]
        b_session = post(client, url, INIT, bob).headers["mcp-session-id"]
        ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
        assert post(client, url, ping, bob, a_session).status_code == 404
        assert post(client, url, ping, alice, b_session).status_code == 404
        call = {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                "params": {"name": "slow", "arguments": {"seconds": 30}, "task": {"ttl": 60000}}}
        created = post(client, url, call, alice, a_session).json()["result"]["task"]
        task_id = created["taskId"]
        listed = {"jsonrpc": "2.0", "id": 4, "method": "tasks/list", "params": {}}
        assert [t["taskId"] for t in post(client, url, listed, alice, a_session).json()["result"]["tasks"]] \
            == [task_id]
        assert post(client, url, listed, bob, b_session).json()["result"]["tasks"] == []
        get = {"jsonrpc": "2.0", "id": 5, "method": "tasks/get", "params": {"taskId": task_id}}
        assert "error" in post(client, url, get, bob, b_session).json()
        cancel = {"jsonrpc": "2.0", "id": 6, "method": "tasks/cancel", "params": {"taskId": task_id}}
        assert "error" in post(client, url, cancel, bob, b_session).json()
        assert post(client, url, get, alice, a_session).json()["result"]["status"] == "working"
        assert post(client, url, cancel, alice, a_session).json()["result"]["status"] == "cancelled"


def test_subject_claim_must_name_a_claim():
    with pytest.raises(ValueError, match="subject_claim"):
        JWTVerifier(issuer=ISSUER, jwks=JWKS, subject_claim="")


# ------------------------------------------------------------------ alg / key confusion
def test_jwt_alg_not_fitting_its_key_type_is_401_not_500():
    app = make_app(JWTVerifier(issuer=ISSUER, jwks=JWKS, algorithms=("RS256", "ES256", "PS256", "EdDSA", "HS256")))
    public_pem = RSA_KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    forged = {
        "ES256 header, RSA kid": mint(key=EC_KEY, algorithm="ES256", kid="rsa"),
        "RS256 header, EC kid": mint(algorithm="RS256", kid="ec"),
        "EdDSA header, RSA kid": mint(key=ED_KEY, algorithm="EdDSA", kid="rsa"),
        "HS256 keyed with the RSA public key": forge({"alg": "HS256", "kid": "rsa"}, claims_for(), public_pem, "HS256"),
        "PS256 header, EC kid": mint(algorithm="PS256", kid="ec"),
    }
    with LiveServer(app) as server, httpx.Client(timeout=30) as client:
        url = server.url + "/mcp"
        for label, token in forged.items():
            response = post(client, url, INIT, token)
            assert response.status_code == 401, (label, response.status_code, response.text)
            assert_refused(response)
        assert post(client, url, INIT, mint(key=EC_KEY, algorithm="ES256", kid="ec")).status_code == 200
        assert post(client, url, INIT, mint(algorithm="PS256")).status_code == 200


def test_jwt_header_kid_of_another_type_is_401():
    verifier = JWTVerifier(issuer=ISSUER, jwks=JWKS)
    for kid in (["rsa"], {"k": 1}, 7, True):
        token = forge({"alg": "RS256", "kid": kid}, claims_for(), RSA_KEY)
        with pytest.raises(InvalidToken):
            trio.run(verifier, token)


# ------------------------------------------------------------------ any verifier error
def test_any_verifier_error_is_401_with_www_authenticate():
    async def verify(token: str):
        if token == "boom":
            raise RuntimeError("database down")
        if token == "zero":
            return 1 / 0
        if token == "junk":
            return {"sub": "not an AccessToken"}
        if token == "anonymous":
            return AccessToken(subject=None, scopes=frozenset({"mcp"}))
        if token == "empty":
            return AccessToken(subject="", scopes=frozenset({"mcp"}))
        if token == "good":
            return AccessToken(subject="good", scopes=frozenset({"mcp"}))
        return None

    app = make_app(verify)
    with LiveServer(app) as server, httpx.Client(timeout=30) as client:
        url = server.url + "/mcp"
        for token in ("boom", "zero", "junk", "anonymous", "empty", "unknown"):
            assert_refused(post(client, url, INIT, token))
        assert "database down" not in post(client, url, INIT, "boom").text  # no internals leak
        assert post(client, url, INIT, "good").status_code == 200


def test_a_failing_bearer_verifier_function_is_401():
    def verify(token: str) -> bool:
        if token == "boom":
            raise KeyError(token)
        return token == "good"

    mcp = MCPServer("plain")

    @mcp.tool()
    def ping_tool() -> str:
        return "pong"

    app = Conduit()
    app.mount_mcp("/mcp", mcp, auth=verify)
    with LiveServer(app) as server, httpx.Client(timeout=30) as client:
        url = server.url + "/mcp"
        refused = post(client, url, INIT, "boom")
        assert refused.status_code == 401 and "www-authenticate" in refused.headers
        assert post(client, url, INIT, "good").status_code == 200


# ------------------------------------------------------------------ hypothesis
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                max_size=3), max_leaves=6)
CLAIM_VALUES = JSON | st.just(ISSUER) | st.just(RESOURCE) | st.just(int(time.time()) + 300)
VERIFIER = JWTVerifier(issuer=ISSUER, jwks=JWKS, audience=RESOURCE,
                       algorithms=("RS256", "ES256", "PS256", "EdDSA", "HS256"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(header=st.fixed_dictionaries({}, optional={"alg": st.sampled_from(["RS256", "ES256", "PS256", "EdDSA",
                                                                          "HS256", "none"]) | JSON,
                                                  "kid": st.sampled_from(["rsa", "ec"]) | JSON,
                                                  "typ": JSON}),
       claims=st.dictionaries(st.sampled_from(["iss", "aud", "sub", "exp", "nbf", "iat", "scope", "client_id"]),
                              CLAIM_VALUES),
       signer=st.sampled_from(["rsa", "ec", "ed", "garbage"]))
def test_jwt_verifier_answers_any_token_with_a_subject_or_invalid_token(header, claims, signer):
    if signer == "garbage":
        token = forge(header, claims)
    else:
        key, algorithm = {"rsa": (RSA_KEY, "RS256"), "ec": (EC_KEY, "ES256"), "ed": (ED_KEY, "EdDSA")}[signer]
        token = forge(header, claims, key, algorithm)
    try:
        result = trio.run(VERIFIER, token)
    except InvalidToken:
        return
    assert isinstance(result, AccessToken)
    assert isinstance(result.subject, str) and result.subject
