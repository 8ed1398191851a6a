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


class LocalProsody:
    def __init__(self, plan: Plan, accounts: dict[str, str]) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="sgam-run-"))
        self.port = free_port()
        self.config = self.root / "prosody.cfg.lua"
        self.log = self.root / "prosody.log"
        certs = self.root / "certs"
        certs.mkdir()
        (self.root / "data").mkdir()
        self.ca_file = certs / "ca.crt"
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=sgam run CA",
                 "-keyout", "ca.key", "-out", "ca.crt", cwd=certs)
        names = ", ".join(f"DNS:{d}" for d in plan.domains)
        (certs / "server.ext").write_text(f"subjectAltName = {names}\n", encoding="utf-8")
        _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={plan.domains[0]}",
                 "-keyout", "server.key", "-out", "server.csr", cwd=certs)
        _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                 "-days", "2", "-extfile", "server.ext", "-out", "server.crt", cwd=certs)
        globals_ = "\n".join([
            f'data_path = "{self.root}/data"',
            f'log = {{ {{ levels = {{ min = "info" }}, to = "file", filename = "{self.log}" }} }}',
            'interfaces = { "127.0.0.1" }',
            f"c2s_ports = {{ {self.port} }}",
            "s2s_ports = { }",
            'limits = { c2s = { rate = "10mb/s"; burst = "10s" } }',
            f'ssl = {{ key = "{certs}/server.key"; certificate = "{certs}/server.crt" }}',
        ])
        pair = (str(certs / "server.crt"), str(certs / "server.key"))
        self.config.write_text(prosody_config(plan, plan.domains, globals_=globals_,
                                              certificates={d: pair for d in plan.domains}), encoding="utf-8")
        self._user = pwd.getpwnam("prosody") if os.geteuid() == 0 else None
        if self._user is not None:
            for path in (self.root, *self.root.rglob("*")):
                shutil.chown(path, self._user.pw_uid, self._user.pw_gid)
        self._process: subprocess.Popen[bytes] | None = None
        for jid, password in accounts.items():
            user, _, domain = jid.partition("@")
            subprocess.run(["prosodyctl", "--config", str(self.config), "register", user, domain, password],
                           check=True, capture_output=True, user=self._uid, group=self._gid)

    @property
    def server(self) -> Server:
        return Server(host="127.0.0.1", port=self.port, ca_file=self.ca_file)

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
                raise RuntimeError(f"Prosody exited at start; see {self.log}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        self.close()
        raise RuntimeError(f"Prosody did not listen on port {self.port} within {timeout} s; see {self.log}")

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
