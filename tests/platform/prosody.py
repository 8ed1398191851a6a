"""A real Prosody for the platform tests: free loopback port, its own config, data and certificates.

Everything lives in one temporary folder. As root the folder is handed to the `prosody` user and the
server runs as that user (Prosody refuses to run as root); otherwise it runs as the caller. The
server runs in the foreground (`prosody -F`) and is stopped by its process id, so a test can stop,
start and restart it to inject faults while clients keep their addresses (the port stays the same).

Certificates come from a test CA made here with openssl: the server certificate names both virtual
hosts, and client certificates carry the account's JID as an XmppAddr (XEP-0178) for SASL EXTERNAL.
"""

from __future__ import annotations

import itertools
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def openssl(*args: str | Path, cwd: Path) -> None:
    subprocess.run(["openssl", *map(str, args)], cwd=cwd, check=True, capture_output=True)


class CertificateAuthority:
    """A throwaway CA: signs the server certificate and the client certificates of one test session."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.cert = folder / f"{name}.crt"
        self.key = folder / f"{name}.key"
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN=sgam test CA {name}",
                "-keyout", self.key, "-out", self.cert, cwd=folder)

    def issue(self, name: str, subject_alt_names: str) -> tuple[Path, Path]:
        """Sign a certificate for `name` with the given subjectAltName value; returns (certfile, keyfile)."""
        cert, key, request = (self.folder / f"{name}.{ext}" for ext in ("crt", "key", "csr"))
        extensions = self.folder / f"{name}.ext"
        extensions.write_text(f"subjectAltName = {subject_alt_names}\n", encoding="utf-8")
        openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", key, "-out", request,
                cwd=self.folder)
        openssl("x509", "-req", "-in", request, "-CA", self.cert, "-CAkey", self.key, "-CAcreateserial", "-days", "2",
                "-extfile", extensions, "-out", cert, cwd=self.folder)
        return cert, key


class Prosody:
    """One Prosody server for tests. `tls=False` makes a server that offers no encryption at all."""

    def __init__(self, tls: bool = True, domains: tuple[str, ...] = (DOMAIN,),
                 certificate_names: tuple[str, ...] | None = None) -> None:
        """`domains`: the virtual hosts where accounts log in with passwords, one per organisation if a
        test wants parties in their own domains (stanzas between local hosts need no s2s).
        `certificate_names`: the names in the server's certificate (by default all its hosts)."""
        # Not under pytest's tmp_path: that lives in a folder the `prosody` user cannot enter.
        self.root = Path(tempfile.mkdtemp(prefix="sgam-prosody-"))
        self.port = free_port()  # STARTTLS
        self.direct_tls_port = free_port()  # TLS from the first byte (XEP-0368)
        self.tls = tls
        self.config = self.root / "prosody.cfg.lua"
        self.log = self.root / "prosody.log"
        (self.root / "data").mkdir()
        self.ca = CertificateAuthority(self.root / "certs", "ca")
        self.domains = domains
        names = certificate_names or (*domains, CERT_DOMAIN)
        server_cert, server_key = self.ca.issue("server", ", ".join(f"DNS:{name}" for name in names))
        server_cert.rename(self.root / "certs" / "server.crt")
        server_key.rename(self.root / "certs" / "server.key")
        self.config.write_text(
            CONFIG.format(root=self.root, port=self.port, direct_tls_port=self.direct_tls_port,
                          password_hosts="\n".join(f'VirtualHost "{name}"' for name in domains), cert_domain=CERT_DOMAIN,
                          tls=str(tls).lower(), plaintext=str(not tls).lower(), tls_module='"tls"' if tls else ""),
            encoding="utf-8",
        )
        self._user = pwd.getpwnam("prosody") if os.geteuid() == 0 else None
        if self._user is not None:
            shutil.chown(self.root, self._user.pw_uid, self._user.pw_gid)
            for path in self.root.rglob("*"):
                shutil.chown(path, self._user.pw_uid, self._user.pw_gid)
        self._process: subprocess.Popen[bytes] | None = None
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

    def _run_as(self) -> dict[str, int]:
        return {} if self._user is None else {"user": self._user.pw_uid, "group": self._user.pw_gid}

    def start(self, timeout: float = 10.0) -> None:
        """Start the server and wait until it accepts connections."""
        if self._process is not None:
            raise RuntimeError("Prosody is already running")
        self._process = subprocess.Popen(["prosody", "--config", str(self.config), "-F"],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **self._run_as())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                raise RuntimeError(f"Prosody exited at start; see {self.log}:\n{self.tail()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"Prosody did not listen on port {self.port} within {timeout} s:\n{self.tail()}")

    def stop(self) -> None:
        """Stop the server by its process id (SIGTERM, then SIGKILL if it lingers)."""
        if self._process is None:
            return
        self._process.send_signal(signal.SIGCONT)  # in case it was paused
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

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

    def close(self) -> None:
        """Stop the server and remove its folder."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def tail(self, lines: int = 20) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def register(self, user: str, password: str, domain: str = DOMAIN) -> str:
        """Create an account on a password host; returns its bare JID."""
        subprocess.run(["prosodyctl", "--config", str(self.config), "register", user, domain, password],
                       check=True, capture_output=True, **self._run_as())
        return f"{user}@{domain}"

    def account(self, name: str, domain: str = DOMAIN) -> Account:
        """A new password account with a unique user name starting with `name` and a random password."""
        user = f"{name}{next(self._accounts)}"
        password = secrets.token_urlsafe(12)
        return Account(jid=self.register(user, password, domain), password=password)

    def cert_account(self, name: str, ca: CertificateAuthority | None = None) -> Account:
        """An account on the certificate host: a client certificate naming `name@certs.localhost`.

        Signed by the server's CA unless another `ca` is given (then the server does not know it).
        No password and no registration: the certificate is the account (mod_auth_ccert).
        """
        jid = f"{name}@{CERT_DOMAIN}"
        signer = ca or self.ca
        cert, key = signer.issue(f"client-{name}", f"otherName:{XMPP_ADDR};UTF8:{jid}")
        return Account(jid=jid, certfile=cert, keyfile=key)
