"""TLS and TAK-protocol settings of ``opencram tak send`` and ``opencram.interop.tak``.

The names are pytak's: its TLS settings are ``pytak.DEFAULT_TLS_PARAMS_OPT`` (read by
``pytak.client_functions.get_ssl_ctx``) and ``TAK_PROTO`` selects the encoding; the test
checks ours against pytak's own constants. The rest are regression guards: bad files and
values are one-line ``UserError``s that name the option (or environment variable) and
the file, before any connection is made.
"""

from __future__ import annotations

import warnings

import pytest

from opencram.errors import UserError
from opencram.interop import tak
from test_cot import hand_made_run

with warnings.catch_warnings():  # pytak warns at import about extras TLS does not need
    warnings.simplefilter("ignore")
    import pytak


def test_our_setting_names_are_pytaks():
    """against pytak: every PYTAK_TLS_* we set is one pytak reads."""
    ours = {
        tak.ENV_CERT,
        tak.ENV_KEY,
        tak.ENV_CAFILE,
        tak.ENV_PASSWORD,
        tak.ENV_DONT_VERIFY,
        tak.ENV_DONT_CHECK_HOSTNAME,
    }
    assert ours <= set(pytak.DEFAULT_TLS_PARAMS_OPT)
    assert tak.ENV_TAK_PROTO == "TAK_PROTO" and pytak.DEFAULT_TAK_PROTO == "0"


def pem(tmp_path, name="client.pem"):
    path = tmp_path / name
    path.write_text("not checked here\n")
    return str(path)


def test_options_override_environment(tmp_path):
    """regression guard"""
    cert, other = pem(tmp_path), pem(tmp_path, "env.pem")
    env = {tak.ENV_CERT: other, tak.ENV_CAFILE: other, tak.ENV_DONT_CHECK_HOSTNAME: "yes"}
    files = tak.tls_files(cert=cert, env=env)
    assert files.cert == cert and files.cafile == other
    assert files.name("cert") == "--tls-cert" and files.name("cafile") == tak.ENV_CAFILE
    settings = files.pytak_settings()
    assert settings[tak.ENV_CERT] == cert
    assert settings[tak.ENV_KEY] == cert  # a PEM holding both
    assert settings[tak.ENV_CAFILE] == other
    assert settings[tak.ENV_DONT_CHECK_HOSTNAME] == "1"
    assert tak.ENV_DONT_VERIFY not in settings


def test_p12_key_is_not_defaulted_and_insecure_sets_dont_verify(tmp_path):
    """regression guard"""
    p12 = pem(tmp_path, "client.p12")
    settings = tak.tls_files(cert=p12, password="pw", insecure=True, env={}).pytak_settings()
    assert tak.ENV_KEY not in settings
    assert settings[tak.ENV_PASSWORD] == "pw" and settings[tak.ENV_DONT_VERIFY] == "1"


@pytest.mark.parametrize(
    ("kwargs", "env", "said"),
    [
        ({"cert": "/nonexistent/client.pem"}, {}, "--tls-cert /nonexistent/client.pem: no such"),
        ({}, {tak.ENV_CERT: "/nonexistent/e.pem"}, f"{tak.ENV_CERT} /nonexistent/e.pem: no such"),
        ({"cert": "CERT", "key": "/nonexistent/k.pem"}, {}, "--tls-key /nonexistent/k.pem"),
        ({"cert": "CERT", "cafile": "/nonexistent/ca.crt"}, {}, "--tls-ca /nonexistent/ca.crt"),
        ({}, {}, "needs a client certificate: --tls-cert FILE"),
    ],
)
def test_bad_tls_files_are_one_line_errors(tmp_path, kwargs, env, said):
    """regression guard"""
    kwargs = {k: pem(tmp_path) if v == "CERT" else v for k, v in kwargs.items()}
    link = tak.Link("tls://127.0.0.1:8089", tls=tak.tls_files(**kwargs, env=env))
    with pytest.raises(UserError) as err:
        link.pytak_config()
    assert said in str(err.value) and "\n" not in str(err.value)


def test_a_directory_is_not_a_certificate(tmp_path):
    """regression guard"""
    with pytest.raises(UserError, match="no such file"):
        tak.tls_files(cert=str(tmp_path), env={}).pytak_settings()


def test_a_file_that_is_not_a_certificate_is_a_one_line_error(tmp_path):
    """pytak's loader fails on it; we say which file (regression guard)."""
    link = tak.Link("tls://127.0.0.1:1", tls=tak.tls_files(cert=pem(tmp_path), env={}))
    with pytest.raises(UserError) as err:
        tak.send_cot([b"<event/>"], link, timeout_s=5)
    assert str(err.value).startswith(f"--tls-cert {tmp_path / 'client.pem'}: could not load")


def test_protocol_setting():
    """regression guard: the option, else pytak's TAK_PROTO, else XML."""
    assert tak.protocol_setting(env={}) == "xml"
    assert tak.protocol_setting(env={"TAK_PROTO": "1"}) == "protobuf"
    assert tak.protocol_setting("xml", env={"TAK_PROTO": "1"}) == "xml"
    with pytest.raises(UserError, match="--protocol json: use xml or protobuf"):
        tak.protocol_setting("json", env={})
    with pytest.raises(UserError, match="TAK_PROTO=2"):
        tak.protocol_setting(env={"TAK_PROTO": "2"})


def test_urls():
    """regression guard: tak send takes tls://; the default (the live service's own
    link, which opens plain sockets) still refuses it."""
    assert tak.check_url("tls://tak.example:8089", tak.SEND_SCHEMES) == (
        "tls",
        "tak.example",
        8089,
    )
    with pytest.raises(UserError, match="use tcp://HOST:PORT or udp://HOST:PORT"):
        tak.check_url("tls://tak.example:8089")


def test_cli_bad_settings_are_one_line_errors(tmp_path, cli):
    """regression guard: exit status 2, one line naming the option and file, before
    anything is sent."""
    run = hand_made_run(tmp_path / "run")
    missing = tmp_path / "nope.pem"
    res = cli("tak", "send", str(run), "--url", "tls://127.0.0.1:1", "--tls-cert", str(missing))
    assert res.returncode == 2
    assert res.stderr.strip() == f"error: --tls-cert {missing}: no such file"
    res = cli("tak", "send", str(run), "--protocol", "json")
    assert res.returncode == 2
    assert res.stderr.strip() == "error: --protocol json: use xml or protobuf"


def test_link_from_environment(tmp_path):
    """regression guard: pytak's variables alone configure a link."""
    cert = pem(tmp_path)
    env = {tak.ENV_TAK_PROTO: "1", tak.ENV_CERT: cert, tak.ENV_CAFILE: cert}
    link = tak.Link.from_environment("tls://tak.example:8089", env)
    assert link.protocol == "protobuf"
    config = link.pytak_config()
    assert config["COT_URL"] == "tls://tak.example:8089" and config["TAK_PROTO"] == "0"
    assert config[tak.ENV_CERT] == cert and config[tak.ENV_CAFILE] == cert
