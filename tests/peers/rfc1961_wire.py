"""The wire layer shared by the client and the server of rfc1961_peer.py.

RFC 1928 / RFC 1961 constants, the framing of RFC 1961 messages, the GSS-API
context and protection-level helpers, the encapsulated channel, addresses and
the command-line value parsers.
"""

import argparse
import ipaddress
import socket
import threading

import gssapi

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
