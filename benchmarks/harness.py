"""What benchmarks/run and benchmarks/load-test share: logging, the build, the processes they
start and stop, ports on the loopback, and a Heimdal realm for GSS-API."""

import os
import random
import resource
import signal
import socket
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REALM = "TEST.SOCKS"


def log(text):
    print(text, file=sys.stderr, flush=True)


class Failure(Exception):
    pass


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def exit_on_signals():
    """SIGTERM and SIGHUP end the run through SystemExit, so that what it started is stopped."""

    def on_signal(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)


def build(build_dir, targets=()):
    """Sets up `build_dir` as a release build without tests if it is not one yet, and builds
    `targets` (everything if none)."""
    if not os.path.exists(os.path.join(build_dir, "build.ninja")):
        subprocess.run(["meson", "setup", build_dir, TOP, "--buildtype=release", "-Dtests=false"],
                       check=True, stdout=sys.stderr)
    subprocess.run(["ninja", "-C", build_dir] + list(targets), check=True, stdout=sys.stderr)


def tail(path, lines=20):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


class Processes:
    """Everything started here, each in a session of its own so that a server's children (danted
    forks) are stopped with it: SIGTERM, `grace` seconds, then SIGKILL. A process's stderr, and
    its stdout unless the caller takes it, go to TMP/NAME.log."""

    def __init__(self, tmp, grace=5.0):
        self.tmp, self.grace = tmp, grace
        self.running = []

    def start(self, name, argv, **kwargs):
        """Popen's keyword arguments pass through (env, stdout, stdin; stdin is /dev/null unless
        given)."""
        out = open(os.path.join(self.tmp, name + ".log"), "ab")
        kwargs.setdefault("stdout", out)
        p = subprocess.Popen(argv, stdin=kwargs.pop("stdin", subprocess.DEVNULL), stderr=out,
                             preexec_fn=raise_fd_limit, start_new_session=True, **kwargs)
        out.close()
        p.name = name
        self.running.append(p)
        return p

    def stop(self, p, grace=None):
        """Stops `p` and what is left in its process group; returns its exit status."""
        if p not in self.running:
            return p.poll()
        self.running.remove(p)
        for sig, wait in ((signal.SIGTERM, self.grace if grace is None else grace),
                          (signal.SIGKILL, 5.0)):
            if p.poll() is not None:
                break
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                break
            try:
                p.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
        # Children left in the group (danted's) go too.
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if p.poll() is None:
            p.wait()
        return p.poll()

    def stop_all(self):
        for p in list(reversed(self.running)):
            self.stop(p, grace=2.0)

    def log_tail(self, name, lines=20):
        return tail(os.path.join(self.tmp, name + ".log"), lines)


def ephemeral_range():
    """The kernel's range of ports for outgoing connections (and for binding to port 0)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
            return low, high
    except (OSError, ValueError):
        return 32768, 60999


def free_ephemeral_ports():
    """How many ports of the ephemeral range no TCP socket holds, TIME_WAIT ones included."""
    low, high = ephemeral_range()
    used = set()
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f, None)
                for line in f:
                    local = line.split(None, 2)[1]
                    port = int(local.rsplit(":", 1)[1], 16)
                    if low <= port <= high:
                        used.add(port)
        except OSError:
            continue
    return high - low + 1 - len(used)


def wait_for_ephemeral_ports(needed, seconds=75.0):
    """Waits (up to `seconds`, a little more than TIME_WAIT lasts) until `needed` ephemeral ports
    are free: binding to port 0, as a BIND listener does, takes a port no socket holds, and a run
    just before may have left most of them in TIME_WAIT. Returns how many are free."""
    end = time.monotonic() + seconds
    free = free_ephemeral_ports()
    if free < needed:
        log(f"waiting for ports in TIME_WAIT to drain: {free} ephemeral ports free, "
            f"{needed} wanted")
    while free < needed and time.monotonic() < end:
        time.sleep(1.0)
        free = free_ephemeral_ports()
    return free


def free_port():
    """A port on 127.0.0.1 for a server to listen on, below the ephemeral range: a run leaves
    tens of thousands of its connections' ports in TIME_WAIT, which can leave no ephemeral port
    free to bind to port 0 (EADDRINUSE)."""
    low, _ = ephemeral_range()
    candidates = list(range(max(1024, low - 12000), low))
    random.shuffle(candidates)
    for port in candidates[:500]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, seconds=15.0):
    """Whether something accepts on 127.0.0.1:`port` within `seconds`, while `proc` runs."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def must(argv, env=None, cwd=None):
    done = subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        raise Failure(f"{' '.join(argv)} failed:\n{done.stdout}")


def make_realm(d):
    """A Heimdal realm in `d` on a free port: the KDC process's argv, and the krb5.conf path."""
    port = free_port()
    conf = os.path.join(d, "krb5.conf")
    with open(conf, "w") as f:
        f.write(f"[libdefaults]\n\tdefault_realm = {REALM}\n\tdns_lookup_kdc = false\n"
                "\tdns_lookup_realm = false\n\trdns = false\n\tdns_canonicalize_hostname = false\n"
                f"[realms]\n\t{REALM} = {{\n\t\tkdc = 127.0.0.1:{port}\n\t}}\n"
                f"[domain_realm]\n\tlocalhost = {REALM}\n"
                # On one line Heimdal would silently use the system's database.
                f"[kdc]\n\tdatabase = {{\n\t\tdbname = {d}/heimdal\n\t\tmkey_file = {d}/m-key\n"
                f"\t}}\n\tports = {port}\n\taddresses = 127.0.0.1\n"
                f"[logging]\n\tkdc = FILE:{d}/kdc.log\n")
    env = dict(os.environ, KRB5_CONFIG=conf)
    kadmin = ["kadmin", "-l", "-c", conf]
    must(["kstash", "--random-key", f"--key-file={d}/m-key"], env=env, cwd=d)
    must(kadmin + ["init", "--realm-max-ticket-life=unlimited",
                   "--realm-max-renewable-life=unlimited", REALM], env=env, cwd=d)
    for principal in ("rcmd/localhost", "alice"):
        must(kadmin + ["add", "--random-key", "--use-defaults", f"{principal}@{REALM}"], env=env)
    must(kadmin + ["ext_keytab", "-k", f"{d}/server.keytab", f"rcmd/localhost@{REALM}"], env=env)
    must(kadmin + ["ext_keytab", "-k", f"{d}/alice.keytab", f"alice@{REALM}"], env=env)
    return ["/usr/lib/heimdal-servers/kdc", f"--config-file={conf}"], port, conf


def start_realm(d, procs):
    """A realm made by make_realm(d), its KDC started by `procs` and alice's credentials fetched:
    (the KDC process, its port, the krb5.conf path, alice's credential cache)."""
    kdc_argv, kdc_port, conf = make_realm(d)
    env = dict(os.environ, KRB5_CONFIG=conf, KRB5CCNAME=f"FILE:{d}/default.cc")
    kdc = procs.start("kdc", kdc_argv, env=env)
    if not wait_for_port(kdc_port, kdc):
        raise Failure("the KDC did not start:\n" + procs.log_tail("kdc"))
    ccache = f"FILE:{d}/alice.cc"
    must(["kinit", "-c", ccache, "-k", "-t", f"{d}/alice.keytab", f"alice@{REALM}"], env=env)
    return kdc, kdc_port, conf, ccache
