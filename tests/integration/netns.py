"""Test hosts: Linux network namespaces joined to this one by veth pairs.

A ``WorkerHost`` is a separate network stack with its own loopback and one
link to the "database host" (this namespace). PostgreSQL, Redis and the fake
provider listen on 127.0.0.1 only, so a small TCP relay on this side of the
link forwards each port they use; from inside the host they are reached at
the link's address, as a real worker reaches a database on another machine.
``cut()`` takes the link down: connections over it neither close nor answer,
like a machine that fell off the network.

Needs root (CAP_NET_ADMIN) and iproute2; ``require_netns()`` says why not.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import threading


def _ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20)


def require_netns() -> str | None:
    """None when this process may create network namespaces, else the reason not."""
    if not shutil.which("ip"):
        return "needs iproute2's ip command to create test hosts"
    if os.geteuid() != 0:
        return "needs root to create network namespaces and veth pairs"
    probe = f"fhprobe{os.getpid()}"
    added = _ip("netns", "add", probe)
    if added.returncode:
        return f"cannot create a network namespace here: {added.stderr.strip()}"
    _ip("netns", "del", probe)
    return None


class Relay:
    """Forward TCP connections from ``listen_host:port`` to 127.0.0.1:``port``."""

    def __init__(self, listen_host: str, port: int) -> None:
        self.port = port
        self._server = socket.create_server((listen_host, port), reuse_port=False)
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True, name=f"relay-{port}").start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return  # closed
            try:
                upstream = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._server.close()
        with self._lock:
            for sock in self._open:
                # shutdown() first: close() alone waits for the pump blocked in
                # recv(), and the server would never see the connection end.
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()


class WorkerHost:
    """One test host: namespace ``name``, link 10.<a>.<b>.1 (here) to .2 (there)."""

    def __init__(self, index: int) -> None:
        tag = os.getpid() % 100_000
        self.name = f"fh{tag}w{index}"
        self.outside_if = f"fh{tag}o{index}"
        self.inside_if = f"fh{tag}i{index}"
        octet = 100 + index
        self.gateway = f"10.{octet}.{tag % 250}.1"  # this namespace's end: the services
        self.address = f"10.{octet}.{tag % 250}.2"
        self.relays: dict[int, Relay] = {}
        self._up = False

    def __enter__(self) -> WorkerHost:
        steps = [
            ("netns", "add", self.name),
            ("link", "add", self.outside_if, "type", "veth", "peer", "name", self.inside_if),
            ("link", "set", self.inside_if, "netns", self.name),
            ("addr", "add", f"{self.gateway}/24", "dev", self.outside_if),
            ("link", "set", self.outside_if, "up"),
            ("-n", self.name, "addr", "add", f"{self.address}/24", "dev", self.inside_if),
            ("-n", self.name, "link", "set", self.inside_if, "up"),
            ("-n", self.name, "link", "set", "lo", "up"),
        ]
        try:
            for step in steps:
                done = _ip(*step)
                if done.returncode:
                    raise RuntimeError(f"ip {' '.join(step)}: {done.stderr.strip()}")
            self._up = True
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    def env_for(self, env: dict[str, str]) -> dict[str, str]:
        """``env`` as seen from this host: every 127.0.0.1:PORT becomes the gateway,
        with a relay for that port."""
        rewritten = {}
        for key, value in env.items():
            for port in re.findall(r"127\.0\.0\.1:(\d+)", value):
                self.relay(int(port))
            rewritten[key] = value.replace("127.0.0.1", self.gateway)
        return rewritten

    def relay(self, port: int) -> None:
        if port not in self.relays:
            self.relays[port] = Relay(self.gateway, port)

    def command(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *argv]

    def reachable(self, port: int) -> bool:
        """Whether a process on this host can open a connection to the gateway's port."""
        probe = (
            "import socket,sys\n"
            f"try: socket.create_connection(('{self.gateway}', {port}), timeout=2).close()\n"
            "except OSError: sys.exit(1)\n"
        )
        done = subprocess.run(
            self.command(["python3", "-c", probe]), capture_output=True, timeout=20
        )
        return done.returncode == 0

    def cut(self) -> None:
        """Take the link down: the host stays up, alone."""
        done = _ip("link", "set", self.outside_if, "down")
        if done.returncode:
            raise RuntimeError(done.stderr)

    def remove(self) -> None:
        for relay in self.relays.values():
            relay.close()
        self.relays.clear()
        # Deleting the namespace deletes the veth pair with it.
        _ip("netns", "del", self.name)
        _ip("link", "del", self.outside_if)
        self._up = False
