"""A real Prosody for the platform tests: free loopback port, its own config, data and certificates.

The server process is `codegen.prosody.ProsodyProcess`, the one `sgam run` uses: one temporary
folder, handed to the `prosody` user when run as root, `prosody -F` stopped by its process id. So a
test can stop, start and restart it to inject faults while clients keep their addresses (the port
stays the same).

Certificates come from a test CA made here with openssl: the server certificate names both virtual
hosts, and client certificates carry the account's JID as an XmppAddr (XEP-0178) for SASL EXTERNAL.
"""

from __future__ import annotations

import itertools
import secrets
import signal
from pathlib import Path

from codegen.prosody import CertificateAuthority, ProsodyProcess, dns_names, free_port
from sgam.platform.xmpp import Account, Server

DOMAIN = "localhost"
CERT_DOMAIN = "certs.localhost"  # virtual host where accounts log in with client certificates only
XMPP_ADDR = "1.3.6.1.5.5.7.8.5"  # id-on-xmppAddr, RFC 6120 section 13.7.1.4

CONFIG = """\
-- Written by tests/platform/prosody.py for one test session.
data_path = "{root}/data"
log = {{ {{ levels = {{ min = "info" }}, to = "file", filename = "{root}/prosody.log" }} }}
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {port} }}
c2s_direct_tls_ports = {{ {direct_tls_port} }}
s2s_ports = {{ }}
modules_enabled = {{ "roster"; "saslauth"; "disco"; "ping"; "limits"; {tls_module} }}
modules_disabled = {{ "s2s" }}
authentication = "internal_hashed"
c2s_require_encryption = {tls}
allow_unencrypted_plain_auth = {plaintext}
-- Prosody's epoll backend leaves Nagle's algorithm on: two stanzas sent back to back (a result
-- and a push) then wait for the client's delayed ACK, some 40 ms. Send at once.
network_settings = {{ nagle = false }}
-- The default c2s rate limit throttles the benchmark; raise it far above what a test sends.
limits = {{ c2s = {{ rate = "100mb/s"; burst = "10s" }} }}
ssl = {{
    key = "{root}/certs/server.key";
    certificate = "{root}/certs/server.crt";
    cafile = "{root}/certs/ca.crt";
    -- Ask for a client certificate but let the session go on without one (passwords still work).
    verify = {{ "peer"; "client_once" }};
    verifyext = {{ "lsec_continue"; "lsec_ignore_purpose" }};
}}
{password_hosts}
VirtualHost "{cert_domain}"
    authentication = "ccert"
    certificate_match = "xmppaddr"
"""


class Prosody(ProsodyProcess):
    """One Prosody server for tests. `tls=False` makes a server that offers no encryption at all."""

    def __init__(self, tls: bool = True, domains: tuple[str, ...] = (DOMAIN,),
                 certificate_names: tuple[str, ...] | None = None) -> None:
        """`domains`: the virtual hosts where accounts log in with passwords, one per organisation if a
        test wants parties in their own domains (stanzas between local hosts need no s2s).
        `certificate_names`: the names in the server's certificate (by default all its hosts)."""
        super().__init__("sgam-prosody-")
        self.port = free_port()  # STARTTLS
        self.direct_tls_port = free_port()  # TLS from the first byte (XEP-0368)
        self.tls = tls
        self.ca = CertificateAuthority(self.root / "certs", "ca")
        self.domains = domains
        names = certificate_names or (*domains, CERT_DOMAIN)
        server_cert, server_key = self.ca.issue("server", dns_names(names))
        server_cert.rename(self.root / "certs" / "server.crt")
        server_key.rename(self.root / "certs" / "server.key")
        self.config.write_text(
            CONFIG.format(root=self.root, port=self.port, direct_tls_port=self.direct_tls_port,
                          password_hosts="\n".join(f'VirtualHost "{name}"' for name in domains), cert_domain=CERT_DOMAIN,
                          tls=str(tls).lower(), plaintext=str(not tls).lower(), tls_module='"tls"' if tls else ""),
            encoding="utf-8",
        )
        self.hand_over()
        self._accounts = itertools.count(1)

    @property
    def ca_file(self) -> Path:
        """The CA that signed the server's certificate: what clients must trust."""
        return self.ca.cert

    @property
    def server(self) -> Server:
        """The STARTTLS port."""
        return Server(host="127.0.0.1", port=self.port, ca_file=self.ca_file)

    @property
    def direct_tls_server(self) -> Server:
        """The direct TLS port (XEP-0368)."""
        return Server(host="127.0.0.1", port=self.direct_tls_port, ca_file=self.ca_file, direct_tls=True)

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open but nothing answers, as with a hung server."""
        assert self._process is not None, "Prosody is not running"
        self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self._process is not None, "Prosody is not running"
        self._process.send_signal(signal.SIGCONT)

    def restart(self) -> None:
        self.stop()
        self.start()

    def account(self, name: str, domain: str = DOMAIN) -> Account:
        """A new password account with a unique user name starting with `name` and a random password."""
        user = f"{name}{next(self._accounts)}"
        password = secrets.token_urlsafe(12)
        return Account(jid=self.register(user, domain, password), password=password)

    def cert_account(self, name: str, ca: CertificateAuthority | None = None) -> Account:
        """An account on the certificate host: a client certificate naming `name@certs.localhost`.

        Signed by the server's CA unless another `ca` is given (then the server does not know it).
        No password and no registration: the certificate is the account (mod_auth_ccert).
        """
        jid = f"{name}@{CERT_DOMAIN}"
        signer = ca or self.ca
        cert, key = signer.issue(f"client-{name}", f"otherName:{XMPP_ADDR};UTF8:{jid}")
        return Account(jid=jid, certfile=cert, keyfile=key)
