"""Issue 26, item 7: a TLS certificate that does not load is one line naming the file and the reason, exit 1,
before warm-up.

Before: a 40-line exception-group traceback, printed after the kernels had warmed up. After:
``error: TLS certificate .../junk.pem is not a PEM certificate ...`` and status 1, with no warm-up line.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import trustme

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def pems(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls-errors")
    ca = trustme.CA()
    good, other = ca.issue_cert("127.0.0.1"), ca.issue_cert("127.0.0.1")
    good.cert_chain_pems[0].write_to_path(folder / "cert.pem")
    good.private_key_pem.write_to_path(folder / "key.pem")
    other.private_key_pem.write_to_path(folder / "other-key.pem")
    (folder / "junk.pem").write_text("not a certificate\n")
    unreadable = folder / "locked.pem"
    good.private_key_pem.write_to_path(unreadable)
    unreadable.chmod(0)
    return folder


def _run(*flags: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "kernels")]))
    return subprocess.run([sys.executable, "-m", "conduit.cli", "run", "examples.hello:app", "--port", "0", *flags],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("cert,key,says", [
    ("missing.pem", "key.pem", "TLS file not found: {d}/missing.pem"),
    ("cert.pem", "missing-key.pem", "TLS file not found: {d}/missing-key.pem"),
    ("junk.pem", "key.pem", "TLS certificate {d}/junk.pem is not a PEM certificate"),
    ("cert.pem", "junk.pem", "TLS key {d}/junk.pem is not a PEM private key"),
    ("cert.pem", "other-key.pem", "TLS key {d}/other-key.pem does not match the certificate {d}/cert.pem"),
    ("cert.pem", "locked.pem", "TLS file not readable (permission denied): {d}/locked.pem"),
], ids=["missing-cert", "missing-key", "junk-cert", "junk-key", "mismatched-key", "unreadable-key"])
def test_bad_tls_file_is_one_line_exit_1_before_warmup(pems, cert, key, says):
    if key == "locked.pem" and os.geteuid() == 0:
        pytest.skip("root reads a file without read permission; the permission case needs a normal user")
    done = _run("--ssl-certfile", str(pems / cert), "--ssl-keyfile", str(pems / key))
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 1, done.stderr
    assert lines[-1].startswith("error: " + says.format(d=pems)), lines
    assert "Traceback" not in done.stderr
    assert not any("warm" in line.lower() or "compil" in line.lower() for line in lines), lines
