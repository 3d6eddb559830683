#!/usr/bin/python3
"""Independent SOCKS Version 5 peer for the GSS-API method (RFC 1961, method X'01').

Written from RFC 1928 / RFC 1961 and the project's wire reference only, so that
it can be run against the project's client and server as a second, unrelated
implementation.  GSS-API comes from python3-gssapi (MIT Kerberos), the SOCKS
side under test normally uses Heimdal: every run checks token interoperability.

Client:
  rfc1961_peer.py client --proxy HOST:PORT --target HOST:PORT
                         [--service rcmd@localhost] [--level 1|2|0]
                         [--accept-levels 1,2] [--nec] [--bytes N]
                         [--timeout SEC] [--deleg] [--half-close]
  Exit status: 0 ok, 2 method not accepted, 3 server aborted GSS / closed during
  authentication, 4 protection level not acceptable, 5 SOCKS reply not 00,
  6 echoed data mismatch, 7 any other error or timeout.
  Last stdout line: "result: ok level=L bytes=N" or "result: error CODE MESSAGE".

Server:
  rfc1961_peer.py server --listen HOST:PORT [--levels 1,2] [--nec]
                         [--allow-clear] [--service rcmd@localhost] [--timeout SEC]
  First stdout line: "listening PORT".  One stderr line per connection.

Environment: KRB5_CONFIG, KRB5CCNAME (client), KRB5_KTNAME (server).
"""

import argparse
import os
import sys

# The client, the server and their shared wire layer are modules beside this script.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rfc1961_client import client_main  # noqa: E402
from rfc1961_server import server_main  # noqa: E402
from rfc1961_wire import parse_hostport, parse_levels  # noqa: E402


def build_parser():
    p = argparse.ArgumentParser(description="RFC 1961 (SOCKS5 GSS-API) test peer")
    sub = p.add_subparsers(dest="mode", required=True)

    c = sub.add_parser("client", help="SOCKS5 GSS-API client that checks an echo target")
    c.add_argument("--proxy", type=parse_hostport, required=True, metavar="HOST:PORT")
    c.add_argument("--target", type=parse_hostport, required=True, metavar="HOST:PORT")
    c.add_argument("--service", default="rcmd@localhost",
                   help="server name: host-based service (rcmd@host) or principal (a/b@R)")
    c.add_argument("--level", type=int, choices=[0, 1, 2], default=2,
                   help="protection level to request (0 = clear, outside the RFC)")
    c.add_argument("--accept-levels", type=parse_levels, default=None,
                   help="levels accepted in the server's answer (default: the requested one)")
    c.add_argument("--nec", action="store_true", help="NEC mode: level octet sent unwrapped")
    c.add_argument("--bytes", type=int, default=1048576, help="octets to echo through the tunnel")
    c.add_argument("--timeout", type=float, default=30.0, help="socket timeout in seconds")
    c.add_argument("--deleg", action="store_true", help="also request credential delegation")
    c.add_argument("--level-conf", action="store_true",
                   help="wrap the level octet with conf_req TRUE instead of FALSE")
    c.add_argument("--no-mutual", action="store_true",
                   help="do not request mutual authentication (a server must refuse this)")
    c.add_argument("--no-replay-detection", action="store_true",
                   help="request neither replay nor sequence detection (a server must refuse this)")
    c.add_argument("--half-close", action="store_true",
                   help="shut down our write side after sending and expect the relay to end")

    s = sub.add_parser("server", help="SOCKS5 GSS-API server (CONNECT only)")
    s.add_argument("--listen", type=parse_hostport, required=True, metavar="HOST:PORT")
    s.add_argument("--levels", type=parse_levels, default=[1, 2],
                   help="protection levels the server grants (subset of 1,2)")
    s.add_argument("--nec", action="store_true", help="NEC mode: level octet sent unwrapped")
    s.add_argument("--allow-clear", action="store_true",
                   help="grant level 0 (no encapsulation) when requested")
    s.add_argument("--service", default=None,
                   help="acceptor name (default: any key in the keytab)")
    s.add_argument("--timeout", type=float, default=30.0,
                   help="socket timeout before the relay starts, in seconds")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.mode == "client":
        return client_main(args)
    return server_main(args)


if __name__ == "__main__":
    sys.exit(main())
