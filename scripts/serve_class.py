"""Serve the lab to a class on the local network: bind every interface and print the address students open.

    .venv/bin/python scripts/serve_class.py [--port 8501]        (what `make class` runs)

`make run` binds 127.0.0.1, which only this machine can reach. This binds 0.0.0.0 and prints the lesson's link
with this machine's address on the local network (the one its default route leaves from), so the teacher can put
it on the projector; the students' browsers open the same lesson on the shipped model without training anything.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import socket
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def lan_address() -> str:
    """This machine's address on the local network: the source address of a route to a private address (a UDP
    socket's connect sends nothing). 127.0.0.1 when there is no network at all."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            return s.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def command(port: int) -> list[str]:
    """The Streamlit command line: every interface, this port (the rest comes from .streamlit/config.toml)."""
    return [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.address", "0.0.0.0",
            "--server.port", str(port)]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8501)))
    args = p.parse_args(argv)
    host = lan_address()
    print(f"\n  Students open:  http://{host}:{args.port}/lesson\n"
          f"  (the Prune page of the class demo: http://{host}:{args.port}/prune)\n"
          "  A 2-core laptop serves about 30 students moving sliders (README, 'Serving a class').\n"
          "  If their browsers cannot connect, allow incoming connections to this port in the firewall.\n",
          flush=True)
    os.chdir(ROOT)
    os.execv(sys.executable, command(args.port))


if __name__ == "__main__":
    main()
