"""Counts test cases from a meson test log: the summaries the test programs print (doctest's, and
the fuzz corpus replays' in the same form), plus one failure for each test program that died
before it could print one (a crash or a timeout); then, from further logs, one case per
benchmark smoke run."""
import json
import re
import sys

SUMMARY = re.compile(r"\[(?:doctest|fuzz-replay)\] test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed")

passed = failed = 0


def benchmark_entries(path):
    """A benchmark's smoke run counts as one case: it ran to the end, or it did not."""
    global passed, failed
    with open(path, encoding="utf-8") as log:
        for line in log:
            entry = json.loads(line)
            if entry.get("result") == "OK":
                passed += 1
            else:
                failed += 1
                print(f"benchmark {entry.get('name')}: {entry.get('result')}", file=sys.stderr)


for extra in sys.argv[2:]:
    benchmark_entries(extra)

with open(sys.argv[1], encoding="utf-8") as log:
    for line in log:
        entry = json.loads(line)
        found = SUMMARY.findall(entry.get("stdout", "") or "")
        if found:
            _, p, f = found[-1]
            passed += int(p)
            failed += int(f)
            if entry.get("result") != "OK" and int(f) == 0:
                failed += 1  # the program failed after its summary (leak report, exit code)
        else:
            failed += 1
            print(f"{entry.get('name')}: {entry.get('result')} without a summary", file=sys.stderr)
print(f"{passed} passed, {failed} failed")
