#!/usr/bin/env python3
"""Runs the README's grpcurl walkthrough line for line against a daemon.

    scripts/readme-walkthrough.py GRPC_ADDR METRICS_ADDR [README.md]

Reads the first ```sh block under the "## Try it with grpcurl" heading,
joins continued and quoted lines into commands, points localhost:50051 and
localhost:9090 at the given addresses, and runs each command with bash from
the repository root. A command must exit 0, print no "ERROR", and not
answer UNIMPLEMENTED (an RPC in the README must work), unless the comment
above it names the gRPC code it demonstrates (e.g. "INVALID_ARGUMENT"): then
it must fail with that code.
"""

import pathlib
import re
import shlex
import subprocess
import sys

HEADING = "## Try it with grpcurl"
CODES = ["INVALID_ARGUMENT", "NOT_FOUND", "FAILED_PRECONDITION", "RESOURCE_EXHAUSTED",
         "UNAVAILABLE", "DEADLINE_EXCEEDED", "INTERNAL", "UNIMPLEMENTED"]


def camel(code):
    return "".join(w.capitalize() for w in code.split("_"))


def commands(readme):
    """Yields (expected code or None, command) from the walkthrough block."""
    text = readme.split(HEADING, 1)[1]
    block = re.search(r"```sh\n(.*?)```", text, re.S).group(1)
    expect, cur = None, ""
    for line in block.splitlines():
        if not cur:
            stripped = line.strip()
            if not stripped:
                continue
            if stripped.startswith("#"):
                expect = next((c for c in CODES if c in stripped), None)
                continue
        cur += line + "\n"
        if cur.rstrip().endswith("\\"):
            continue
        try:
            shlex.split(cur, comments=True)
        except ValueError:
            continue  # a quote spans lines
        yield expect, cur.strip()
        expect, cur = None, ""
    if cur:
        raise SystemExit(f"unterminated command in the walkthrough: {cur}")


def main():
    grpc_addr, metrics_addr = sys.argv[1], sys.argv[2]
    root = pathlib.Path(__file__).resolve().parent.parent
    readme = (pathlib.Path(sys.argv[3]) if len(sys.argv) > 3 else root / "README.md").read_text()
    prelude, passed, failed = [], 0, 0
    for expect, cmd in commands(readme):
        cmd = cmd.replace("localhost:50051", grpc_addr).replace("localhost:9090", metrics_addr)
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=\S*", cmd):
            prelude.append(cmd)  # a variable later commands use
            continue
        m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)=\$\(", cmd)
        if m:
            # An assignment from a command (a lease ID): run it once, and
            # give later commands its value, not the command.
            name = m.group(1)
            print(f"$ {cmd}", flush=True)
            proc = subprocess.run(["bash", "-c", "\n".join(prelude + [cmd, f'printf %s "${name}"'])], cwd=root,
                                  capture_output=True, text=True, timeout=60)
            value = proc.stdout
            print(f"{name}={value}")
            if proc.returncode == 0 and value:
                passed += 1
            else:
                failed += 1
                print(f"FAIL (exit {proc.returncode}): want a value for {name}\n{proc.stderr}")
            prelude.append(f"{name}={shlex.quote(value)}")
            continue
        print(f"$ {cmd}", flush=True)
        proc = subprocess.run(["bash", "-c", "\n".join(prelude + [cmd])], cwd=root,
                              capture_output=True, text=True, timeout=60)
        out = proc.stdout + proc.stderr
        print(out.rstrip())
        if expect:
            ok = proc.returncode != 0 and f"Code: {camel(expect)}" in out
            why = f"want it to fail with {expect}"
        else:
            ok = proc.returncode == 0 and "ERROR" not in out and "Unimplemented" not in out
            why = "want exit 0 and no error"
        if ok:
            passed += 1
        else:
            failed += 1
            print(f"FAIL (exit {proc.returncode}): {why}")
    if passed == 0:
        raise SystemExit("no walkthrough commands found")
    print(f"walkthrough: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
