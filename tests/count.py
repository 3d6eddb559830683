"""Counts test cases and prints one last line, "N passed, N failed".

  count.py [TESTLOG [BENCHLOG...]] [--tests TESTLOG]... [--benchmarks BENCHLOG]...
           [--extra-summary FILE]...

From each meson test log (TESTLOG, --tests): the summaries the test programs print (doctest's, and
the fuzz corpus replays' in the same form), plus one failure for each test program that died
before it could print one (a crash, a timeout, a sanitizer's abort). From each benchmark log:
one case per benchmark smoke run. From each extra summary file: every line of the form
"LABEL: N passed, N failed" (a fuzzing run, the sanitizer reports). A log or file that is
missing counts as one failure: the step that should have written it did not get that far."""
import argparse
import json
import re
import sys

SUMMARY = re.compile(r"\[(?:doctest|fuzz-replay)\] test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed")
EXTRA = re.compile(r"^(.*):\s*(\d+) passed, (\d+) failed\s*$")

passed = failed = 0


def entries(path):
    """The lines of a meson test log, or None (and one failure) when there is no log."""
    global failed
    try:
        with open(path, encoding="utf-8") as log:
            return [json.loads(line) for line in log if line.strip()]
    except FileNotFoundError:
        failed += 1
        print(f"{path}: missing", file=sys.stderr)
        return None


def test_log(path):
    global passed, failed
    for entry in entries(path) or []:
        found = SUMMARY.findall(entry.get("stdout", "") or "")
        if found:
            _, p, f = found[-1]
            passed += int(p)
            failed += int(f)
            if entry.get("result") != "OK" and int(f) == 0:
                failed += 1  # the program failed after its summary (leak report, exit code)
                print(f"{entry.get('name')}: {entry.get('result')} after its summary", file=sys.stderr)
        else:
            failed += 1
            print(f"{entry.get('name')}: {entry.get('result')} without a summary", file=sys.stderr)


def benchmark_log(path):
    """A benchmark's smoke run counts as one case: it ran to the end, or it did not."""
    global passed, failed
    for entry in entries(path) or []:
        if entry.get("result") == "OK":
            passed += 1
        else:
            failed += 1
            print(f"benchmark {entry.get('name')}: {entry.get('result')}", file=sys.stderr)


def extra_summary(path):
    global passed, failed
    try:
        with open(path, encoding="utf-8") as summary:
            lines = summary.read().splitlines()
    except FileNotFoundError:
        failed += 1
        print(f"{path}: missing", file=sys.stderr)
        return
    for line in lines:
        match = EXTRA.match(line)
        if match:
            passed += int(match.group(2))
            failed += int(match.group(3))
            if int(match.group(3)):
                print(line, file=sys.stderr)


parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("logs", nargs="*", help="a test log, then benchmark logs")
parser.add_argument("--tests", action="append", default=[], help="a meson test log")
parser.add_argument("--benchmarks", action="append", default=[], help="a meson benchmark log")
parser.add_argument("--extra-summary", action="append", default=[], help='lines "LABEL: N passed, N failed"')
args = parser.parse_args()

for path in args.logs[:1] + args.tests:
    test_log(path)
for path in args.logs[1:] + args.benchmarks:
    benchmark_log(path)
for path in args.extra_summary:
    extra_summary(path)
print(f"{passed} passed, {failed} failed")
