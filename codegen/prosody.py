"""A local Prosody provisioned from a generated platform: for `sgam run` and its tests.

It hosts every domain of the plan on one server on a free loopback port, with the settings of
the generated per-domain configuration (codegen.config.prosody_config: encryption required,
registration off), a throwaway CA and a server certificate naming every domain, and the
accounts of the generated secrets file. As root the files belong to the `prosody` user and the
server runs as that user (Prosody refuses to run as root). Stopped by its process id.
"""

from __future__ import annotations

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

from codegen.config import prosody_config
from codegen.plan import Plan
from sgam.platform.xmpp import Server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _openssl(*args: str | Path, cwd: Path) -> None:
    subprocess.run(["openssl", *map(str, args)], cwd=cwd, check=True, capture_output=True)


class CertificateAuthority:
    """A throwaway CA that signs the servers' certificates (and that every client and server trusts)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.cert = folder / "ca.crt"
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=sgam run CA",
                 "-keyout", "ca.key", "-out", "ca.crt", cwd=folder)

    def issue(self, name: str, domains: list[str]) -> tuple[Path, Path]:
        """A server certificate naming `domains` (subjectAltName DNS); returns (certificate, key)."""
        names = ", ".join(f"DNS:{d}" for d in domains)
        (self.folder / f"{name}.ext").write_text(f"subjectAltName = {names}\n", encoding="utf-8")
        _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={domains[0]}",
                 "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=self.folder)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                 "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.crt", cwd=self.folder)
        return self.folder / f"{name}.crt", self.folder / f"{name}.key"


def loopback_addresses(count: int) -> list[str]:
    """`count` loopback addresses in a random 127.x.y.0/24, so that runs side by side do not share s2s ports."""
    x, y = 1 + secrets.randbelow(254), 1 + secrets.randbelow(254)
    return [f"127.{x}.{y}.{n}" for n in range(1, count + 1)]


S2S_PORT = 5269  # the XMPP server-to-server port peers connect to when DNS names no SRV record


class LocalProsody:
    """Prosody for `domains` of the plan (default: all of them on one server).

    For federation, one instance per domain: each listens on its own loopback `address` (c2s on a
    free port, s2s on 5269) and resolves the other domains through `hosts` (a hosts file given to
    Prosody's resolver, libunbound), so no system file changes.
    """

    def __init__(self, plan: Plan, accounts: dict[str, str], *, domains: list[str] | None = None,
                 address: str = "127.0.0.1", hosts: Path | None = None,
                 ca: CertificateAuthority | None = None) -> None:
        self.domains = domains or plan.domains
        self.address = address
        self.root = Path(tempfile.mkdtemp(prefix="sgam-run-"))
        self.port = free_port()
        self.config = self.root / "prosody.cfg.lua"
        self.log = self.root / "prosody.log"
        (self.root / "data").mkdir()
        self.ca = ca or CertificateAuthority(self.root / "certs")
        cert, key = self.ca.issue("-".join(self.domains), self.domains)
        settings = [
            f'data_path = "{self.root}/data"',
            f'log = {{ {{ levels = {{ min = "info" }}, to = "file", filename = "{self.log}" }} }}',
            f'interfaces = {{ "{address}" }}',
            f"c2s_ports = {{ {self.port} }}",
            f"s2s_ports = {{ {S2S_PORT if hosts else ''} }}",
            'limits = { c2s = { rate = "10mb/s"; burst = "10s" } }',
            f'ssl = {{ key = "{key}"; certificate = "{cert}"; cafile = "{self.ca.cert}" }}',
        ]
        if hosts is not None:
            settings.append(f'unbound = {{ hoststxt = "{hosts}" }}')
        self.config.write_text(prosody_config(plan, self.domains, globals_="\n".join(settings),
                                              certificates={d: (str(cert), str(key)) for d in self.domains}),
                               encoding="utf-8")
        self._user = pwd.getpwnam("prosody") if os.geteuid() == 0 else None
        if self._user is not None:
            for path in (self.root, *self.root.rglob("*"), *self.ca.folder.rglob("*")):
                shutil.chown(path, self._user.pw_uid, self._user.pw_gid)
        self._process: subprocess.Popen[bytes] | None = None
        for jid, password in accounts.items():
            user, _, domain = jid.partition("@")
            if domain in self.domains:
                subprocess.run(["prosodyctl", "--config", str(self.config), "register", user, domain, password],
                               check=True, capture_output=True, user=self._uid, group=self._gid)

    @property
    def server(self) -> Server:
        return Server(host=self.address, port=self.port, ca_file=self.ca.cert)

    @property
    def _uid(self) -> int | None:
        return None if self._user is None else self._user.pw_uid

    @property
    def _gid(self) -> int | None:
        return None if self._user is None else self._user.pw_gid

    def start(self, timeout: float = 10.0) -> None:
        self._process = subprocess.Popen(["prosody", "--config", str(self.config), "-F"],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, user=self._uid,
                                         group=self._gid)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                raise RuntimeError(f"Prosody exited at start:\n{self.tail()}")
            try:
                socket.create_connection((self.address, self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        tail = self.tail()
        self.close()
        raise RuntimeError(f"Prosody did not listen on {self.address}:{self.port} within {timeout} s:\n{tail}")

    def tail(self, lines: int = 15) -> str:
        """The end of the server's log (it goes with the server's folder on close)."""
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def close(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        shutil.rmtree(self.root, ignore_errors=True)
