#!/usr/bin/env python3
"""Compiles one source file and expects it to fail with a given message on stderr.

usage: check.py SOURCE EXPECTED -- COMPILER [ARGS...]
An empty EXPECTED means the file must compile (the control case for the harness itself).
"""
import subprocess
import sys


def main() -> int:
    source, expected = sys.argv[1], sys.argv[2]
    sep = sys.argv.index("--")
    command = sys.argv[sep + 1:] + ["-fsyntax-only", source]
    run = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if not expected:
        if run.returncode != 0:
            print(f"{source} should compile, but:\n{run.stdout}")
            return 1
        return 0
    if run.returncode == 0:
        print(f"{source} compiled, but should fail with: {expected}")
        return 1
    if expected not in run.stdout:
        print(f"{source} failed without the message: {expected}\ncompiler output:\n{run.stdout}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
