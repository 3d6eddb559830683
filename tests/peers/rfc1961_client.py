"""The client of rfc1961_peer.py: CONNECT through a SOCKS5 server with the
GSS-API method, then check that an echo target returns every octet."""

import socket
import threading

import gssapi
from gssapi.raw.misc import GSSError

from rfc1961_wire import (
    CMD_CONNECT, EXIT_GSS_ABORT, EXIT_LEVEL, EXIT_METHOD, EXIT_MISMATCH, EXIT_OK, EXIT_OTHER,
    EXIT_REPLY, METHOD_GSSAPI, METHOD_NONE_ACCEPTABLE, MTYP_AUTH, REP_TEXT, SOCKS_VER, Channel,
    FrameReader, PeerAborted, PeerClosed, PlainReader, ProtocolError, encode_address,
    expect_message, import_service_name, new_context, read_address, recv_level, send_level,
    send_message)


class ClientFailure(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def pattern_data(n):
    return bytes((i * 131 + 7) % 251 for i in range(n))


def client_greeting(sock, reader):
    sock.sendall(bytes([SOCKS_VER, 1, METHOD_GSSAPI]))   # offer only GSS-API
    try:
        ver, method = reader.read_exact(2)
    except PeerClosed as e:
        raise ClientFailure(EXIT_OTHER, "method selection: %s" % e)
    if ver != SOCKS_VER:
        raise ClientFailure(EXIT_OTHER, "method selection: bad version 0x%02x" % ver)
    if method == METHOD_NONE_ACCEPTABLE:
        raise ClientFailure(EXIT_METHOD, "server accepted no method (05 FF)")
    if method != METHOD_GSSAPI:
        raise ClientFailure(EXIT_OTHER, "server selected method 0x%02x we did not offer" % method)


def client_establish(sock, reader, args):
    """RFC 1961 section 3: drive gss_init_sec_context over MTYP 01 messages."""
    flags = (gssapi.RequirementFlag.integrity
             | gssapi.RequirementFlag.confidentiality)
    # --no-replay-detection exists to test that a server insists on replay and sequence detection.
    if not args.no_replay_detection:
        flags |= (gssapi.RequirementFlag.replay_detection
                  | gssapi.RequirementFlag.out_of_sequence_detection)
    # --no-mutual exists to test that a server insists on mutual authentication.
    if not args.no_mutual:
        flags |= gssapi.RequirementFlag.mutual_authentication
    if args.deleg:
        flags |= gssapi.RequirementFlag.delegate_to_peer
    try:
        ctx = new_context(name=import_service_name(args.service),
                          usage="initiate", flags=flags)
        out = ctx.step()
    except GSSError as e:
        # RFC 1961 3.5: on local failure the client just closes.
        raise ClientFailure(EXIT_OTHER, "gss_init_sec_context failed for %s: %s"
                            % (args.service, " ".join(str(e).split())))
    while True:
        if not out:
            if ctx.complete:
                break
            raise ClientFailure(EXIT_OTHER, "gss_init_sec_context produced no token")
        send_message(sock, MTYP_AUTH, out)
        # The server answers every token with exactly one MTYP 01 message.
        try:
            token = expect_message(reader, MTYP_AUTH)
        except PeerAborted:
            raise ClientFailure(EXIT_GSS_ABORT, "server aborted GSS-API authentication (01 FF)")
        except PeerClosed as e:
            raise ClientFailure(EXIT_GSS_ABORT, "authentication: %s" % e)
        if ctx.complete:
            if token:
                raise ClientFailure(EXIT_OTHER, "server sent a %d-octet token after the "
                                    "context was complete" % len(token))
            break
        if not token:
            raise ClientFailure(EXIT_OTHER, "server sent a zero-length token but the "
                                "context still needs one")
        try:
            out = ctx.step(token)
        except GSSError as e:
            raise ClientFailure(EXIT_OTHER, "gss_init_sec_context failed on server token: %s"
                                % " ".join(str(e).split()))
    if not args.no_mutual and not ctx.actual_flags & gssapi.RequirementFlag.mutual_authentication:
        raise ClientFailure(EXIT_OTHER, "context established without mutual authentication")
    return ctx


def client_negotiate_level(sock, reader, ctx, args):
    try:
        send_level(sock, ctx, args.level, args.nec, args.level_conf)
        agreed = recv_level(reader, ctx, args.nec)
    except PeerAborted:
        raise ClientFailure(EXIT_GSS_ABORT, "server aborted during protection level "
                            "negotiation (01 FF)")
    except PeerClosed as e:
        raise ClientFailure(EXIT_GSS_ABORT, "protection level negotiation: %s" % e)
    except GSSError as e:
        raise ClientFailure(EXIT_OTHER, "protection level token: %s" % " ".join(str(e).split()))
    accept = args.accept_levels if args.accept_levels is not None else [args.level]
    if agreed not in accept:
        # RFC 1961 4.4: an unacceptable answer makes the client close.
        raise ClientFailure(EXIT_LEVEL, "server answered protection level %d, acceptable: %s"
                            % (agreed, ",".join(map(str, accept))))
    return agreed


def client_request(channel, args):
    host, port = args.target
    channel.send(bytes([SOCKS_VER, CMD_CONNECT, 0x00]) + encode_address(host, port))
    rd = PlainReader(channel)
    try:
        ver, rep, _rsv = rd.read_exact(3)
    except PeerClosed as e:
        raise ClientFailure(EXIT_OTHER, "SOCKS reply: %s" % e)
    if ver != SOCKS_VER:
        raise ClientFailure(EXIT_OTHER, "SOCKS reply: bad version 0x%02x" % ver)
    if rep != 0x00:
        raise ClientFailure(EXIT_REPLY, "socks reply %02x (%s)" % (rep, REP_TEXT.get(rep, "unknown")))
    atyp, _host, _port = read_address(rd)
    if _host is None:
        raise ClientFailure(EXIT_OTHER, "SOCKS reply: unknown address type 0x%02x" % atyp)
    return rd.take_buffered()


def client_transfer(channel, early, args):
    """Send the pattern while reading the echo back; compare."""
    data = pattern_data(args.bytes)
    writer_error = []

    def writer():
        try:
            step = 256 * 1024
            for off in range(0, len(data), step):
                channel.send(data[off:off + step])
            if args.half_close:
                channel.shutdown_write()
        except Exception as e:        # reported by the main thread
            writer_error.append(e)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    got = bytearray(early)
    while len(got) < len(data):
        chunk = channel.recv()
        if not chunk:
            break
        got += chunk
    if args.half_close and len(got) == len(data):
        # After our half-close the relay must end the stream once all is echoed.
        extra = channel.recv()
        while extra:
            got += extra
            extra = channel.recv()
    t.join(args.timeout)
    if writer_error:
        raise ClientFailure(EXIT_OTHER, "sending data: %s" % writer_error[0])
    if bytes(got) != data:
        if len(got) < len(data):
            raise ClientFailure(EXIT_MISMATCH, "echo short: %d of %d octets" % (len(got), len(data)))
        if len(got) > len(data):
            raise ClientFailure(EXIT_MISMATCH, "echo long: %d of %d octets" % (len(got), len(data)))
        pos = next(i for i in range(len(data)) if got[i] != data[i])
        raise ClientFailure(EXIT_MISMATCH, "echo differs at offset %d" % pos)


def run_client(args):
    try:
        sock = socket.create_connection(args.proxy, timeout=args.timeout)
    except OSError as e:
        raise ClientFailure(EXIT_OTHER, "connect to proxy %s:%d: %s" % (args.proxy + (e,)))
    sock.settimeout(args.timeout)
    with sock:
        reader = FrameReader(sock)
        try:
            client_greeting(sock, reader)
            ctx = client_establish(sock, reader, args)
            level = client_negotiate_level(sock, reader, ctx, args)
            channel = Channel(sock, reader, ctx, level)
            early = client_request(channel, args)
            client_transfer(channel, early, args)
        except ClientFailure:
            raise
        except socket.timeout:
            raise ClientFailure(EXIT_OTHER, "timeout after %ss" % args.timeout)
        except (ProtocolError, PeerClosed, PeerAborted, GSSError, OSError, ValueError) as e:
            raise ClientFailure(EXIT_OTHER, "%s: %s" % (type(e).__name__, " ".join(str(e).split())))
    return level


def client_main(args):
    try:
        level = run_client(args)
    except ClientFailure as f:
        print("result: error %d %s" % (f.code, f), flush=True)
        return f.code
    print("result: ok level=%d bytes=%d" % (level, args.bytes), flush=True)
    return EXIT_OK
