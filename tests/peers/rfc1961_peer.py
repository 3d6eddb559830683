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
import errno
import ipaddress
import socket
import sys
import threading

import gssapi
from gssapi.raw.misc import GSSError

# --- constants ---------------------------------------------------------------

SOCKS_VER = 0x05
METHOD_GSSAPI = 0x01
METHOD_NONE_ACCEPTABLE = 0xFF

GSS_VER = 0x01            # RFC 1961 "ver" field of every message after method selection
MTYP_AUTH = 0x01          # context establishment token
MTYP_LEVEL = 0x02         # protection-level subnegotiation
MTYP_DATA = 0x03          # encapsulated user data
MTYP_ABORT = 0xFF         # abort: the two octets 01 FF, no LEN
ABORT = bytes([GSS_VER, MTYP_ABORT])
MAX_TOKEN = 0xFFFF        # LEN is two octets

LEVEL_CLEAR = 0           # outside the RFC, opt-in only
LEVEL_INTEG = 1
LEVEL_CONF = 2

CMD_CONNECT = 0x01
ATYP_IPV4, ATYP_DOMAIN, ATYP_IPV6 = 0x01, 0x03, 0x04

REP_TEXT = {
    0x00: "succeeded", 0x01: "general failure", 0x02: "not allowed by ruleset",
    0x03: "network unreachable", 0x04: "host unreachable",
    0x05: "connection refused", 0x06: "TTL expired",
    0x07: "command not supported", 0x08: "address type not supported",
}

# Client exit codes (fixed by the test plan).
EXIT_OK, EXIT_METHOD, EXIT_GSS_ABORT, EXIT_LEVEL = 0, 2, 3, 4
EXIT_REPLY, EXIT_MISMATCH, EXIT_OTHER = 5, 6, 7


class ProtocolError(Exception):
    """The peer sent something RFC 1928/1961 does not allow."""


class PeerClosed(Exception):
    """The peer closed the connection where more octets were required."""


class PeerAborted(Exception):
    """The peer sent the RFC 1961 abort message 01 FF."""


# --- framing -----------------------------------------------------------------

class FrameReader:
    """Buffered reader over a socket.

    Keeps every received octet, so the RFC 1928 greeting, the RFC 1961
    messages and clear data (level 0) can be read from one buffer without
    losing octets that arrived in the same recv.  Handles several messages
    per recv and messages split across recvs.
    """

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def _fill(self):
        data = self.sock.recv(MAX_TOKEN + 4)
        if not data:
            return False
        self.buf += data
        return True

    def read_exact(self, n):
        while len(self.buf) < n:
            if not self._fill():
                raise PeerClosed("connection closed by peer (wanted %d octets, had %d)"
                                 % (n, len(self.buf)))
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_message(self, allow_eof=False):
        """Return (mtyp, token) of the next RFC 1961 message.

        An abort is returned as (MTYP_ABORT, b"").  With allow_eof, a clean
        end of stream at a message boundary returns None.
        """
        if allow_eof and not self.buf and not self._fill():
            return None
        ver, mtyp = self.read_exact(2)
        if ver != GSS_VER:
            raise ProtocolError("bad message version 0x%02x (expected 0x01)" % ver)
        if mtyp == MTYP_ABORT:
            return MTYP_ABORT, b""
        length = int.from_bytes(self.read_exact(2), "big")
        return mtyp, self.read_exact(length)

    def take_buffered(self):
        out = bytes(self.buf)
        self.buf.clear()
        return out


def send_message(sock, mtyp, token):
    if len(token) > MAX_TOKEN:
        raise ProtocolError("token of %d octets does not fit LEN" % len(token))
    sock.sendall(bytes([GSS_VER, mtyp]) + len(token).to_bytes(2, "big") + token)


def send_abort(sock):
    """Best effort: the peer may already be gone."""
    try:
        sock.sendall(ABORT)
    except OSError:
        pass


def expect_message(reader, mtyp):
    """Read one message of type mtyp; abort and other types are errors."""
    got, token = reader.read_message()
    if got == MTYP_ABORT:
        raise PeerAborted("peer sent abort (01 FF)")
    if got != mtyp:
        raise ProtocolError("expected message type 0x%02x, got 0x%02x" % (mtyp, got))
    return token


def new_context(**kwargs):
    """A SecurityContext whose step() raises on failure.

    python-gssapi by default swallows a failing step, returns the mechanism's
    error token and raises later; RFC 1961 wants 01 FF (server) or a plain
    close (client, 3.5) instead, so errors must surface at once.
    """
    ctx = gssapi.SecurityContext(**kwargs)
    setattr(ctx, "__DEFER_STEP_ERRORS__", False)
    return ctx


def import_service_name(service):
    # WIRE.md: a name containing "/" is a Kerberos principal, otherwise a
    # host-based service name such as rcmd@localhost.
    if "/" in service:
        return gssapi.Name(service, gssapi.NameType.kerberos_principal)
    return gssapi.Name(service, gssapi.NameType.hostbased_service)


# --- protection level subnegotiation (RFC 1961 section 4) ---------------------

def send_level(sock, ctx, level, nec, conf=False):
    if nec:
        token = bytes([level])                     # NEC: the octet goes raw
    else:
        # The RFC says conf_req = FALSE; some clients wrap it with TRUE (--level-conf), which a
        # receiver should accept too.
        token = ctx.wrap(bytes([level]), conf).message
    send_message(sock, MTYP_LEVEL, token)


def recv_level(reader, ctx, nec):
    token = expect_message(reader, MTYP_LEVEL)
    if nec:
        plain = token
    else:
        # Either conf_req value is accepted (one Java client wraps with TRUE).
        plain = ctx.unwrap(token).message
    if len(plain) != 1:
        raise ProtocolError("protection level token holds %d octets, expected 1" % len(plain))
    return plain[0]


# --- encapsulated channel (RFC 1961 section 5) --------------------------------

class Channel:
    """Byte stream after authentication: GSS-wrapped MTYP 03 frames, or clear at level 0."""

    def __init__(self, sock, reader, ctx, level):
        self.sock = sock
        self.reader = reader
        self.ctx = ctx
        self.level = level
        self.conf = level == LEVEL_CONF
        # One GSS context is used by a sending and a receiving thread; MIT does
        # not promise that concurrent calls on one context are safe.
        self.lock = threading.Lock()
        self.chunk = 65536
        if level != LEVEL_CLEAR:
            # Largest plaintext whose wrap token still fits the 2-octet LEN.
            self.chunk = ctx.get_wrap_size_limit(MAX_TOKEN, encrypted=self.conf)
            if self.chunk <= 0:
                raise ProtocolError("gss_wrap_size_limit gave %d" % self.chunk)

    def send(self, data):
        if self.level == LEVEL_CLEAR:
            self.sock.sendall(data)
            return
        view = memoryview(data)
        for off in range(0, len(data), self.chunk):
            with self.lock:
                res = self.ctx.wrap(bytes(view[off:off + self.chunk]), self.conf)
            if self.conf and not res.encrypted:
                raise ProtocolError("gss_wrap did not provide confidentiality")
            send_message(self.sock, MTYP_DATA, res.message)

    def recv(self):
        """Next plaintext octets; b"" at end of stream."""
        if self.level == LEVEL_CLEAR:
            pending = self.reader.take_buffered()
            return pending if pending else self.sock.recv(65536)
        while True:
            msg = self.reader.read_message(allow_eof=True)
            if msg is None:
                return b""
            mtyp, token = msg
            if mtyp != MTYP_DATA:
                raise ProtocolError("expected encapsulated data (01 03), got type 0x%02x" % mtyp)
            with self.lock:
                res = self.ctx.unwrap(token)
            if res.encrypted != self.conf:
                raise ProtocolError("received message encrypted=%s at level %d"
                                    % (res.encrypted, self.level))
            if res.message:            # an empty message is not end of stream
                return res.message

    def shutdown_write(self):
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class PlainReader:
    """read_exact over a Channel's plaintext, for parsing request and reply."""

    def __init__(self, channel):
        self.channel = channel
        self.buf = bytearray()

    def read_exact(self, n):
        while len(self.buf) < n:
            data = self.channel.recv()
            if not data:
                raise PeerClosed("connection closed by peer inside a SOCKS request/reply")
            self.buf += data
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def take_buffered(self):
        out = bytes(self.buf)
        self.buf.clear()
        return out


def read_address(rd):
    """ATYP ADDR PORT as in RFC 1928 section 4/6; returns (atyp, host, port)."""
    atyp = rd.read_exact(1)[0]
    if atyp == ATYP_IPV4:
        host = str(ipaddress.IPv4Address(rd.read_exact(4)))
    elif atyp == ATYP_IPV6:
        host = str(ipaddress.IPv6Address(rd.read_exact(16)))
    elif atyp == ATYP_DOMAIN:
        n = rd.read_exact(1)[0]
        host = rd.read_exact(n).decode("ascii", "replace")
    else:
        return atyp, None, None
    port = int.from_bytes(rd.read_exact(2), "big")
    return atyp, host, port


def encode_address(host, port):
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        name = host.encode("idna")
        if not 1 <= len(name) <= 255:
            raise ValueError("domain name length %d not in 1..255" % len(name))
        return bytes([ATYP_DOMAIN, len(name)]) + name + port.to_bytes(2, "big")
    atyp = ATYP_IPV4 if ip.version == 4 else ATYP_IPV6
    return bytes([atyp]) + ip.packed + port.to_bytes(2, "big")


def parse_hostport(text):
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError("expected HOST:PORT, got %r" % text)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def parse_levels(text):
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("expected a comma-separated list of levels")


# --- client ------------------------------------------------------------------

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


# --- server ------------------------------------------------------------------

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


# --- command line --------------------------------------------------------------

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
