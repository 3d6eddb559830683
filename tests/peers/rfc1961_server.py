"""The server of rfc1961_peer.py: a SOCKS5 server offering the GSS-API method,
CONNECT only, one thread per connection."""

import errno
import socket
import sys
import threading

import gssapi
from gssapi.raw.misc import GSSError

from rfc1961_wire import (
    ATYP_IPV4, CMD_CONNECT, EXIT_OK, EXIT_OTHER, LEVEL_CLEAR, LEVEL_CONF, LEVEL_INTEG,
    METHOD_GSSAPI, METHOD_NONE_ACCEPTABLE, MTYP_AUTH, SOCKS_VER, Channel, FrameReader, PeerAborted,
    PeerClosed, PlainReader, ProtocolError, encode_address, expect_message, import_service_name,
    new_context, read_address, recv_level, send_abort, send_level, send_message)


def log(line):
    print(line, file=sys.stderr, flush=True)


def server_establish(conn, reader, creds):
    """RFC 1961 section 3.6/3.7: one MTYP 01 answer for every client token."""
    ctx = new_context(creds=creds, usage="accept")
    while not ctx.complete:
        token = expect_message(reader, MTYP_AUTH)
        if not token:
            raise ProtocolError("client sent a zero-length authentication token")
        out = ctx.step(token)
        # A zero-length token tells the client we are ready (RFC 1961 3.6).
        send_message(conn, MTYP_AUTH, out or b"")
    if not ctx.actual_flags & gssapi.RequirementFlag.mutual_authentication:
        raise ProtocolError("client did not request mutual authentication")
    return ctx


def choose_level(requested, args):
    """Grant the request if policy allows it, else offer our strongest level."""
    if requested in args.levels or (requested == LEVEL_CLEAR and args.allow_clear):
        return requested
    return max(args.levels)


def connect_target(atyp, host, port, timeout):
    """Returns (socket, None) or (None, REP code)."""
    if host is None:
        return None, 0x08
    try:
        return socket.create_connection((host, port), timeout=timeout), None
    except socket.gaierror:
        return None, 0x04
    except socket.timeout:
        return None, 0x04
    except ConnectionRefusedError:
        return None, 0x05
    except OSError as e:
        return None, {errno.ENETUNREACH: 0x03, errno.EHOSTUNREACH: 0x04}.get(e.errno, 0x01)


def socks_reply(rep, bound=None):
    if bound is None:
        return bytes([SOCKS_VER, rep, 0x00, ATYP_IPV4, 0, 0, 0, 0, 0, 0])
    return bytes([SOCKS_VER, rep, 0x00]) + encode_address(bound[0], bound[1])


def relay(conn, channel, target):
    """Copy both ways until both directions end; propagate half-close."""
    conn.settimeout(None)
    target.settimeout(None)

    def teardown():
        for s in (conn, target):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def client_to_target():
        try:
            while True:
                data = channel.recv()
                if not data:
                    break
                target.sendall(data)
            target.shutdown(socket.SHUT_WR)     # client finished sending
        except Exception as e:
            log("relay client->target ended: %s" % " ".join(str(e).split()))
            teardown()

    t = threading.Thread(target=client_to_target, daemon=True)
    t.start()
    try:
        while True:
            data = target.recv(channel.chunk)
            if not data:
                break
            channel.send(data)
        channel.shutdown_write()                 # target finished sending
    except Exception as e:
        log("relay target->client ended: %s" % " ".join(str(e).split()))
        teardown()
    t.join()


def serve_connection(conn, peer, args, creds):
    conn.settimeout(args.timeout)
    reader = FrameReader(conn)
    who = "%s:%d" % peer[:2]
    # RFC 1928 method selection
    ver, n = reader.read_exact(2)
    methods = reader.read_exact(n)
    if ver != SOCKS_VER:
        log("failed peer=%s reason=bad greeting version 0x%02x" % (who, ver))
        return
    if METHOD_GSSAPI not in methods:
        conn.sendall(bytes([SOCKS_VER, METHOD_NONE_ACCEPTABLE]))
        log("failed peer=%s reason=GSS-API not offered (methods %s)" % (who, methods.hex()))
        return
    conn.sendall(bytes([SOCKS_VER, METHOD_GSSAPI]))

    # Authentication and level negotiation: any failure is answered 01 FF.
    try:
        ctx = server_establish(conn, reader, creds)
        principal = str(ctx.initiator_name)
        requested = recv_level(reader, ctx, args.nec)
        level = choose_level(requested, args)
        send_level(conn, ctx, level, args.nec)
    except PeerAborted:
        log("failed peer=%s reason=client aborted (01 FF)" % who)
        return
    except PeerClosed as e:
        log("failed peer=%s reason=%s" % (who, e))
        return
    except (GSSError, ProtocolError, OSError) as e:
        send_abort(conn)
        log("failed peer=%s reason=%s" % (who, " ".join(str(e).split())))
        return

    channel = Channel(conn, reader, ctx, level)
    rd = PlainReader(channel)
    try:
        ver, cmd, _rsv = rd.read_exact(3)
        atyp, host, port = read_address(rd)
    except PeerClosed as e:
        # The client may legitimately close after an unacceptable level answer.
        log("failed peer=%s client=%s level=%d requested=%d reason=%s"
            % (who, principal, level, requested, e))
        return
    target_text = "%s:%s" % (host, port)
    if ver != SOCKS_VER:
        log("failed peer=%s client=%s reason=bad request version 0x%02x" % (who, principal, ver))
        return
    if cmd != CMD_CONNECT:
        channel.send(socks_reply(0x07))
        log("failed peer=%s client=%s level=%d reason=command 0x%02x not supported"
            % (who, principal, level, cmd))
        return
    target, rep = connect_target(atyp, host, port, args.timeout)
    if target is None:
        channel.send(socks_reply(rep))
        log("failed peer=%s client=%s level=%d target=%s reply=%02x"
            % (who, principal, level, target_text, rep))
        return
    with target:
        channel.send(socks_reply(0x00, target.getsockname()))
        log("session client=%s level=%d target=%s" % (principal, level, target_text))
        early = rd.take_buffered()               # data the client sent before our reply
        if early:
            target.sendall(early)
        relay(conn, channel, target)


def connection_thread(conn, peer, args, creds):
    with conn:
        try:
            serve_connection(conn, peer, args, creds)
        except Exception as e:
            log("failed peer=%s:%d reason=%s: %s"
                % (peer[0], peer[1], type(e).__name__, " ".join(str(e).split())))


def server_main(args):
    bad = [lv for lv in args.levels if lv not in (LEVEL_INTEG, LEVEL_CONF)]
    if bad or not args.levels:
        log("error: --levels takes 1 and/or 2")
        return EXIT_OTHER
    creds = None                      # default acceptor: any key in KRB5_KTNAME
    if args.service:
        try:
            creds = gssapi.Credentials(name=import_service_name(args.service), usage="accept")
        except GSSError as e:
            log("error: acceptor credentials for %s: %s" % (args.service, " ".join(str(e).split())))
            return EXIT_OTHER
    host, port = args.listen
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    lsock = socket.socket(family, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((host, port))
    lsock.listen(64)
    print("listening %d" % lsock.getsockname()[1], flush=True)
    try:
        while True:
            conn, peer = lsock.accept()
            threading.Thread(target=connection_thread, args=(conn, peer, args, creds),
                             daemon=True).start()
    except KeyboardInterrupt:
        return EXIT_OK
    finally:
        lsock.close()
