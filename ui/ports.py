"""Is the port free? Checked before `serve` loads anything heavy, so a busy port fails in a second, not 20."""

from __future__ import annotations

import errno
import socket
from typing import Any

from assistant.errors import RayAdvisorError


class PortError(RayAdvisorError):
    """The server cannot listen where it was asked to."""


def listen_address(host: str, port: int) -> tuple[socket.AddressFamily, socket.SocketKind, int, Any]:
    """(family, type, proto, address) to listen on `host:port`; PortError for a host that is not ours."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise PortError(f"cannot listen on host {host!r}: {exc.strerror}. Use an address of this machine, "
                        "e.g. `--host 127.0.0.1` (or `make run HOST=127.0.0.1`).") from None
    family, kind, proto, _, address = infos[0]
    return family, kind, proto, address


def check_port(host: str, port: int) -> None:
    """Raise PortError, naming the port and how to choose another, when `host:port` cannot be listened on.

    Binds and closes a socket the way uvicorn will (SO_REUSEADDR), so a port in TIME_WAIT is not reported.
    """
    family, kind, proto, address = listen_address(host, port)
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortError(
                    f"port {port} on {host} is already in use (another Ray Advisor, or some other program). "
                    f"Stop it, or choose another port: `make run PORT={_other(port)}` or "
                    f"`ray-advisor serve --port {_other(port)}`.") from None
            if exc.errno == errno.EACCES:
                raise PortError(f"no permission to listen on port {port} (ports below 1024 need root). "
                                f"Choose another: `make run PORT=7860` or `ray-advisor serve --port 7860`.") from None
            raise PortError(f"cannot listen on {host}:{port}: {exc.strerror}. Check --host/--port "
                            "(or HOST=/PORT= for make run).") from None


def _other(port: int) -> int:
    return port + 1 if port < 65535 else 7860


def main(argv: list[str]) -> int:
    """`python -m ui.ports HOST PORT`: what `make run` calls before it ingests (which loads the model)."""
    import sys

    try:
        check_port(argv[0], int(argv[1]))
    except (IndexError, ValueError):
        print("usage: python -m ui.ports HOST PORT", file=sys.stderr)
        return 2
    except PortError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
