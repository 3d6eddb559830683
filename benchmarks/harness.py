"""What benchmarks/run and benchmarks/load-test share: logging, the build, the processes they
start and stop, and ports on the loopback."""

import os
import random
import resource
import signal
import socket
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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
