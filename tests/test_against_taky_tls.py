"""CoT over TLS with client certificates, checked against taky, a real TAK server, run on
127.0.0.1 with ``[ssl] enabled = true`` and ``client_cert_required = true`` (taky's own
configuration keys, ``taky/config.py``; taky wraps each accepted socket with an
``ssl.SSLContext`` that has ``verify_mode = CERT_REQUIRED`` and loads the ``[ssl] ca`` file,
``taky/cot/server.py`` ``COTServer._ssl_setup``).

The test makes a throwaway CA, a server certificate for 127.0.0.1 and client certificates
(``tests/tak_certs.py``, run with the taky environment's ``cryptography``). What we send
over ``tls://`` with the CA's client certificate (through pytak's TLS settings, from our
options or from pytak's environment variables) must reach a second TLS client of taky,
in order and not stale on arrival. A client certificate from another CA, an expired one,
and a client with no certificate at all must be refused, and nothing they send routed.

taky speaks only CoT XML: its client feeds everything it reads to an lxml
``XMLPullParser(tag="event")`` (``taky/cot/client.py``, ``TAKClient.feed``) and never sends
the TAK protocol offer (``t-x-takp-v``), so ``--protocol protobuf`` to taky must stop with
a clear error rather than send bytes taky cannot read.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from opencram.errors import UserError
from opencram.interop.cot import delete_cot, events_to_cot
from opencram.interop.tak import Link, SystemClock, send_cot, tls_files
from test_against_taky import (
    RECEIVE_TIMEOUT_S,
    ROOT,
    CotListener,
    require_taky,
    running_taky,
)
from test_cot import EMBASSY, alert, hand_made_run, impact, origin, track

TAKY_PYTHON = ROOT / ".venv-taky" / "bin" / "python"
CERT_SCRIPT = Path(__file__).with_name("tak_certs.py")


@pytest.fixture(scope="module")
def tls_taky():
    """(port, certificate folder) of a taky that requires client certificates."""
    require_taky()
    work = Path(tempfile.mkdtemp(prefix="takys-"))
    certs = work / "certs"
    try:
        subprocess.run(
            [str(TAKY_PYTHON), str(CERT_SCRIPT), str(certs)],
            check=True,
            capture_output=True,
            timeout=60,
        )
        ssl_section = (
            "enabled = true\n"
            "client_cert_required = true\n"
            f"ca = {certs / 'ca.crt'}\n"
            f"cert = {certs / 'server.crt'}\n"
            f"key = {certs / 'server.key'}\n"
            f"cert_db = {work / 'cert-db.txt'}\n"
        )
        with running_taky(work, ssl_section) as port:
            yield port, certs
    finally:
        shutil.rmtree(work, ignore_errors=True)


def client_context(certs: Path, cert: str | None = "client.pem") -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(certs / "ca.crt"))
    if cert is not None:
        ctx.load_cert_chain(str(certs / cert))
    return ctx


@pytest.fixture
def tls_listener(tls_taky):
    port, certs = tls_taky
    lst = CotListener(port, client_context(certs))
    try:
        lst.ping()
        yield lst
    finally:
        lst.close()


def hand_made_messages() -> list[bytes]:
    events = [track(t_s=10.0), impact(t_s=10.5), alert("raised", t_s=11.0), origin(t_s=12.0)]
    return events_to_cot(events, {"US Embassy": EMBASSY}, clock=SystemClock().now, simulated=True)


def keys(events) -> list[tuple[str, str, str]]:
    return [(e.get("uid"), e.get("type"), e.get("time")) for e in events]


def sent_keys(messages: list[bytes]) -> list[tuple[str, str, str]]:
    import xml.etree.ElementTree as ET

    return keys(ET.fromstring(m) for m in messages)


def test_tls_with_client_certificate_is_routed_by_taky(tls_taky, tls_listener):
    """Options -> pytak's TLS settings: the CA's client certificate (one PEM with its key)
    and the CA file; everything arrives at the other TLS client, once, in order, valid."""
    port, certs = tls_taky
    messages = hand_made_messages()
    tls = tls_files(cert=str(certs / "client.pem"), cafile=str(certs / "ca.crt"), env={})
    send_cot(messages, Link(f"tls://127.0.0.1:{port}", tls=tls), timeout_s=10)
    want = sent_keys(messages)
    tls_listener.wait_for(lambda evs: len(evs) >= len(want), RECEIVE_TIMEOUT_S)
    assert keys(tls_listener.events) == want
    tls_listener.check_not_stale_on_arrival()


def test_tls_settings_from_pytaks_environment_variables(tls_taky, tls_listener):
    """The environment variables of pytak (what ``serve`` and scripts can set): a separate
    certificate and key file."""
    port, certs = tls_taky
    env = {
        "PYTAK_TLS_CLIENT_CERT": str(certs / "client.crt"),
        "PYTAK_TLS_CLIENT_KEY": str(certs / "client.key"),
        "PYTAK_TLS_CLIENT_CAFILE": str(certs / "ca.crt"),
    }
    messages = hand_made_messages()[:2]
    send_cot(messages, Link(f"tls://127.0.0.1:{port}", tls=tls_files(env=env)), timeout_s=10)
    want = sent_keys(messages)
    tls_listener.wait_for(lambda evs: len(evs) >= len(want), RECEIVE_TIMEOUT_S)
    assert keys(tls_listener.events) == want


def test_p12_client_certificate_with_password(tls_taky, tls_listener):
    """A PKCS#12 bundle with a password, as TAK servers hand out client certificates
    (pytak converts it with the cryptography package)."""
    port, certs = tls_taky
    tls = tls_files(
        cert=str(certs / "client.p12"), password="opencram", cafile=str(certs / "ca.crt"), env={}
    )
    messages = hand_made_messages()[:1]
    send_cot(messages, Link(f"tls://127.0.0.1:{port}", tls=tls), timeout_s=10)
    tls_listener.wait_for(lambda evs: len(evs) >= 1, RECEIVE_TIMEOUT_S)
    assert keys(tls_listener.events) == sent_keys(messages)


def test_p12_with_a_wrong_password_is_a_one_line_error(tls_taky):
    port, certs = tls_taky
    p12 = certs / "client.p12"
    tls = tls_files(cert=str(p12), password="wrong", cafile=str(certs / "ca.crt"), env={})
    with pytest.raises(UserError) as err:
        send_cot(hand_made_messages()[:1], Link(f"tls://127.0.0.1:{port}", tls=tls))
    assert str(err.value).startswith(f"--tls-cert {p12}: could not load")


def test_tak_send_command_over_tls(tmp_path, tls_taky, tls_listener, cli):
    """``opencram tak send --url tls://… --tls-cert --tls-key --tls-ca`` end to end."""
    port, certs = tls_taky
    run = hand_made_run(tmp_path / "run")
    res = cli(
        "tak",
        "send",
        str(run),
        "--burst",
        "--url",
        f"tls://127.0.0.1:{port}",
        "--tls-cert",
        str(certs / "client.crt"),
        "--tls-key",
        str(certs / "client.key"),
        "--tls-ca",
        str(certs / "ca.crt"),
    )
    assert res.returncode == 0, res.stderr
    assert f"to tls://127.0.0.1:{port} as XML" in res.stdout
    n = int(res.stdout.split("sent ", 1)[1].split(" ", 1)[0])
    tls_listener.wait_for(lambda evs: len(evs) >= n, RECEIVE_TIMEOUT_S)
    assert len(tls_listener.events) == n
    assert {"a-h-A-W", "u-d-c-c", "u-d-f", "b-a-o-opn"} <= {
        e.get("type") for e in tls_listener.events
    }
    tls_listener.check_not_stale_on_arrival()


def _marker(uid: str) -> bytes:
    """A uniquely named message, to tell whether anything a refused client sent got routed."""
    return delete_cot(uid, "u-d-f", 0.0, 33.3, 44.4, epoch=datetime.now(UTC))


def _check_nothing_routed(listener: CotListener, port: int, certs: Path, uid: str) -> None:
    """Send a marker through a good client after the refused one: once it arrives, the
    refused client's message would have arrived before it had taky routed it."""
    tls = tls_files(cert=str(certs / "client.pem"), cafile=str(certs / "ca.crt"), env={})
    send_cot([_marker("opencram-test-after")], Link(f"tls://127.0.0.1:{port}", tls=tls))
    listener.wait_for(
        lambda evs: any(e.get("uid") == "opencram-test-after-delete" for e in evs),
        RECEIVE_TIMEOUT_S,
    )
    uids = [e.get("uid") for e in listener.events]
    assert "opencram-test-after-delete" in uids
    assert f"{uid}-delete" not in uids


@pytest.mark.parametrize("cert", ["rogue-client.pem", "expired-client.pem"])
def test_certificate_taky_does_not_trust_is_refused(tls_taky, tls_listener, cert):
    """A client certificate from another CA, or expired: a one-line error, nothing routed."""
    port, certs = tls_taky
    uid = f"opencram-test-{cert.split('-')[0]}"
    tls = tls_files(cert=str(certs / cert), cafile=str(certs / "ca.crt"), env={})
    with pytest.raises(UserError) as err:
        send_cot([_marker(uid)], Link(f"tls://127.0.0.1:{port}", tls=tls), timeout_s=10)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"--url tls://127.0.0.1:{port}: ")
    assert "refused" in msg or "closed" in msg, msg
    _check_nothing_routed(tls_listener, port, certs, uid)


def test_client_without_certificate_is_refused(tls_taky, tls_listener):
    """A TLS client that presents no certificate: taky ends the connection, and routes
    nothing it sent. (Our sender never connects without one: see test_tak_settings.py.)"""
    port, certs = tls_taky
    uid = "opencram-test-nocert"
    ctx = client_context(certs, cert=None)
    # TLS 1.3: our handshake ends before taky checks for a certificate, so the refusal
    # comes as an alert (or a close) on the next read; TLS 1.2 fails in the handshake.
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        pytest.raises((ssl.SSLError, ConnectionError)),
        ctx.wrap_socket(raw, server_hostname="127.0.0.1") as sock,
    ):
        sock.sendall(_marker(uid))
        if not sock.recv(4096):
            raise ConnectionError("closed by taky")
    _check_nothing_routed(tls_listener, port, certs, uid)


def test_plain_tcp_to_the_tls_port_is_not_routed(tls_taky, tls_listener):
    """CoT XML sent without TLS to taky's TLS port is not routed."""
    port, certs = tls_taky
    uid = "opencram-test-plain"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(_marker(uid))
        sock.settimeout(2)
        try:
            while sock.recv(4096):
                pass
        except (TimeoutError, ConnectionError):
            pass
    _check_nothing_routed(tls_listener, port, certs, uid)


def test_server_certificate_not_trusted_without_its_ca(tls_taky):
    """Without --tls-ca the server's certificate (from our throwaway CA) is not trusted:
    a one-line error that names the fix."""
    port, certs = tls_taky
    tls = tls_files(cert=str(certs / "client.pem"), env={})
    with pytest.raises(UserError) as err:
        send_cot([_marker("opencram-test-noca")], Link(f"tls://127.0.0.1:{port}", tls=tls))
    assert "certificate was not accepted" in str(err.value)
    assert "--tls-ca" in str(err.value)


def test_protobuf_to_taky_stops_with_a_clear_error(tls_taky):
    """taky never offers the TAK protocol (XML only), so --protocol protobuf stops before
    sending anything taky could not parse."""
    port, certs = tls_taky
    tls = tls_files(cert=str(certs / "client.pem"), cafile=str(certs / "ca.crt"), env={})
    link = Link(f"tls://127.0.0.1:{port}", protocol="protobuf", tls=tls, negotiate_s=1.0)
    with pytest.raises(UserError) as err:
        send_cot(hand_made_messages(), link, timeout_s=10)
    assert "offered no TAK protocol" in str(err.value)
    assert "--protocol xml" in str(err.value)


def test_live_service_cot_link_over_tls_is_routed_by_taky(tls_taky, tls_listener):
    """``opencram serve --cot tls://...``: the live service's CoT link, configured from
    pytak's environment variables as serve is, connects with the client certificate and its
    messages reach the other TLS client of taky, in order and not stale."""
    import asyncio

    from opencram.live.server import CotLink, Counters

    port, certs = tls_taky
    env = {
        "PYTAK_TLS_CLIENT_CERT": str(certs / "client.pem"),
        "PYTAK_TLS_CLIENT_CAFILE": str(certs / "ca.crt"),
    }
    url = f"tls://127.0.0.1:{port}"
    messages = hand_made_messages()
    want = sent_keys(messages)

    async def run() -> Counters:
        counters = Counters()
        link = CotLink(url, counters, Link.from_environment(url, env=env))
        await link.start()
        link.send(messages)
        for _ in range(100):  # until the queue is written (at most 10 s)
            await asyncio.sleep(0.1)
            if not link.q:
                break
        await asyncio.sleep(0.3)
        link.close()
        return counters

    counters = asyncio.run(run())
    tls_listener.wait_for(lambda evs: len(evs) >= len(want), RECEIVE_TIMEOUT_S)
    assert keys(tls_listener.events) == want
    tls_listener.check_not_stale_on_arrival()
    assert counters.cot_errors == 0
