"""Who may connect, and how: TLS only, the server's certificate checked, passwords and client certificates."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from sgam.platform.xmpp import (
    Account,
    AuthenticationFailed,
    CertificateRejected,
    EncryptionRequired,
    Endpoint,
)
from tests.platform.conftest import running
from tests.platform.prosody import CERT_DOMAIN, CertificateAuthority, Prosody


@pytest.fixture(scope="module")
def plaintext_prosody() -> Iterator[Prosody]:
    """A server that offers no TLS at all and would accept a password in the clear."""
    yield from running(Prosody(tls=False))


@pytest.fixture(scope="module")
def stranger_ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    """A CA that neither the server nor the clients trust."""
    return CertificateAuthority(tmp_path_factory.mktemp("stranger-ca"), "stranger")


def test_a_server_without_tls_is_refused_before_any_credential_is_sent(plaintext_prosody: Prosody, run) -> None:
    account = plaintext_prosody.account("device")
    with pytest.raises(EncryptionRequired, match="offers no TLS"):
        run(Endpoint(account, plaintext_prosody.server).start())
    assert "Authenticated as" not in plaintext_prosody.log.read_text(encoding="utf-8")


def test_a_server_certificate_from_another_ca_is_refused(prosody: Prosody, stranger_ca: CertificateAuthority,
                                                         run) -> None:
    wrong_trust = replace(prosody.server, ca_file=stranger_ca.cert)
    with pytest.raises(CertificateRejected, match="not trusted.*is the CA that signed it"):
        run(Endpoint(prosody.account("device"), wrong_trust).start())


def test_a_server_certificate_for_another_name_is_refused_even_from_the_right_ca(run) -> None:
    impostor = Prosody(certificate_names=("elsewhere.test",))
    try:
        impostor.start()
        with pytest.raises(CertificateRejected, match="must present a certificate for localhost"):
            run(Endpoint(impostor.account("device"), impostor.server).start())
    finally:
        impostor.close()


def test_direct_tls_logs_in_and_checks_the_server_certificate_too(prosody: Prosody, stranger_ca: CertificateAuthority,
                                                                  run) -> None:
    account = prosody.account("device")

    async def scenario() -> bool:
        async with Endpoint(account, prosody.direct_tls_server) as device:
            return device.online

    assert run(scenario())
    with pytest.raises(CertificateRejected, match="not trusted"):
        run(Endpoint(account, replace(prosody.direct_tls_server, ca_file=stranger_ca.cert)).start())


def test_a_wrong_password_is_refused(prosody: Prosody, run) -> None:
    account = prosody.account("device")
    with pytest.raises(AuthenticationFailed, match="password"):
        run(Endpoint(replace(account, password="not-" + str(account.password)), prosody.server).start())


def test_an_unknown_account_is_refused(prosody: Prosody, run) -> None:
    with pytest.raises(AuthenticationFailed):
        run(Endpoint(Account("nobody@localhost", password="secret"), prosody.server).start())


def test_a_client_certificate_from_the_servers_ca_logs_in_with_sasl_external(prosody: Prosody, run) -> None:
    async def scenario() -> str:
        async with Endpoint(prosody.cert_account("meter"), prosody.server) as meter:
            assert meter.online
            return meter.jid

    assert run(scenario()) == f"meter@{CERT_DOMAIN}/sgam"


def test_a_client_certificate_the_server_does_not_trust_is_refused(prosody: Prosody, stranger_ca: CertificateAuthority,
                                                                   run) -> None:
    with pytest.raises(AuthenticationFailed, match="client certificate"):
        run(Endpoint(prosody.cert_account("intruder", ca=stranger_ca), prosody.server).start())


def test_a_client_certificate_naming_someone_else_is_refused(prosody: Prosody, run) -> None:
    theirs = prosody.cert_account("meter-a")
    impostor = Account(f"meter-b@{CERT_DOMAIN}", certfile=theirs.certfile, keyfile=theirs.keyfile)
    with pytest.raises(AuthenticationFailed):
        run(Endpoint(impostor, prosody.server).start())


def test_an_account_needs_exactly_one_credential(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="either a password or a client certificate"):
        Account("device@localhost")
    with pytest.raises(ValueError, match="either a password or a client certificate"):
        Account("device@localhost", password="x", certfile=tmp_path / "c.crt", keyfile=tmp_path / "c.key")
    with pytest.raises(ValueError, match="needs its key file"):
        Account("device@localhost", certfile=tmp_path / "c.crt")
