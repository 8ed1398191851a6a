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


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((address, 0))
        return int(probe.getsockname()[1])


def openssl(*args: str | Path, cwd: Path) -> None:
    subprocess.run(["openssl", *map(str, args)], cwd=cwd, check=True, capture_output=True)


def dns_names(domains: list[str] | tuple[str, ...]) -> str:
    """A subjectAltName value naming server domains."""
    return ", ".join(f"DNS:{domain}" for domain in domains)


class CertificateAuthority:
    """A throwaway CA that signs server (and client) certificates, which every party then trusts."""

    def __init__(self, folder: Path, name: str = "ca") -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.cert = folder / f"{name}.crt"
        self.key = folder / f"{name}.key"
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN=sgam CA {name}",
                "-keyout", self.key, "-out", self.cert, cwd=folder)

    def issue(self, name: str, subject_alt_names: str) -> tuple[Path, Path]:
        """Sign a certificate for `name` with the given subjectAltName value; returns (certificate, key)."""
        cert, key, request = (self.folder / f"{name}.{ext}" for ext in ("crt", "key", "csr"))
        extensions = self.folder / f"{name}.ext"
        extensions.write_text(f"subjectAltName = {subject_alt_names}\n", encoding="utf-8")
        openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", key, "-out", request,
                cwd=self.folder)
        openssl("x509", "-req", "-in", request, "-CA", self.cert, "-CAkey", self.key, "-CAcreateserial", "-days", "2",
                "-extfile", extensions, "-out", cert, cwd=self.folder)
        return cert, key


class ProsodyProcess:
    """One Prosody in a temporary folder of its own, run in the foreground and stopped by its process id.

    As root the folder is handed to the `prosody` user and the server runs as that user (Prosody
    refuses to run as root); otherwise it runs as the caller. Subclasses write `config` and set
    `port` before `start`.
    """

    def __init__(self, prefix: str, address: str = "127.0.0.1") -> None:
        # Not under pytest's tmp_path: that lives in a folder the `prosody` user cannot enter.
        self.root = Path(tempfile.mkdtemp(prefix=prefix))
        self.address = address
        self.port = 0
        self.config = self.root / "prosody.cfg.lua"
        self.log = self.root / "prosody.log"
        (self.root / "data").mkdir()
        self._user = pwd.getpwnam("prosody") if os.geteuid() == 0 else None
        self._process: subprocess.Popen[bytes] | None = None

    def hand_over(self, *folders: Path) -> None:
        """Give the server's folder (and any others it reads, such as a shared CA's) to the `prosody` user."""
        if self._user is not None:
            for folder in (self.root, *folders):
                for path in (folder, *folder.rglob("*")):
                    shutil.chown(path, self._user.pw_uid, self._user.pw_gid)

    @property
    def _uid(self) -> int | None:
        return None if self._user is None else self._user.pw_uid

    @property
    def _gid(self) -> int | None:
        return None if self._user is None else self._user.pw_gid

    def register(self, user: str, domain: str, password: str) -> str:
        """Create an account (non-interactive `prosodyctl register`); returns its bare JID."""
        subprocess.run(["prosodyctl", "--config", str(self.config), "register", user, domain, password],
                       check=True, capture_output=True, user=self._uid, group=self._gid)
        return f"{user}@{domain}"

    def start(self, timeout: float = 10.0) -> None:
        """Start the server and wait until it accepts connections."""
        if self._process is not None:
            raise RuntimeError("Prosody is already running")
        self._process = subprocess.Popen(["prosody", "--config", str(self.config), "-F"],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, user=self._uid,
                                         group=self._gid)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                raise RuntimeError(f"Prosody exited at start; see {self.log}:\n{self.tail()}")
            try:
                socket.create_connection((self.address, self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        tail = self.tail()
        self.stop()
        raise RuntimeError(f"Prosody did not listen on {self.address}:{self.port} within {timeout} s:\n{tail}")

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

    def close(self) -> None:
        """Stop the server and remove its folder."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def tail(self, lines: int = 20) -> str:
        """The end of the server's log."""
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def loopback_addresses(count: int) -> list[str]:
    """`count` loopback addresses in a random 127.x.y.0/24, so that runs side by side do not share s2s ports."""
    x, y = 1 + secrets.randbelow(254), 1 + secrets.randbelow(254)
    return [f"127.{x}.{y}.{n}" for n in range(1, count + 1)]


S2S_PORT = 5269  # the XMPP server-to-server port peers connect to when DNS names no SRV record


class LocalProsody(ProsodyProcess):
    """Prosody for `domains` of the plan (default: all of them on one server).

    For federation, one instance per domain: each listens on its own loopback `address` (c2s on a
    free port, s2s on 5269) and resolves the other domains through `hosts` (a hosts file given to
    Prosody's resolver, libunbound), so no system file changes.
    """

    def __init__(self, plan: Plan, accounts: dict[str, str], *, domains: list[str] | None = None,
                 address: str = "127.0.0.1", hosts: Path | None = None,
                 ca: CertificateAuthority | None = None) -> None:
        super().__init__("sgam-run-", address)
        try:
            self._provision(plan, accounts, domains or plan.domains, hosts, ca)
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)  # nothing runs yet: the folder is all there is
            raise

    def _provision(self, plan: Plan, accounts: dict[str, str], domains: list[str], hosts: Path | None,
                   ca: CertificateAuthority | None) -> None:
        """Certificates, configuration and accounts in the server's folder."""
        self.domains = domains
        self.port = free_port(self.address)
        self.ca = ca or CertificateAuthority(self.root / "certs")
        cert, key = self.ca.issue("-".join(self.domains), dns_names(self.domains))
        settings = [
            f'data_path = "{self.root}/data"',
            f'log = {{ {{ levels = {{ min = "info" }}, to = "file", filename = "{self.log}" }} }}',
            f'interfaces = {{ "{self.address}" }}',
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
        self.hand_over(self.ca.folder)
        for jid, password in accounts.items():
            user, _, domain = jid.partition("@")
            if domain in self.domains:
                self.register(user, domain, password)

    @property
    def server(self) -> Server:
        return Server(host=self.address, port=self.port, ca_file=self.ca.cert)
