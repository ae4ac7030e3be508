"""Starts real riptide-poold daemons for the tests.

The binary is $RIPTIDE_POOLD_BIN, else the repository's bin/riptide-poold
(make build). The WASM compilation cache is $RIPTIDE_TEST_WAZERO_CACHE when
set, so that the article module is compiled once across runs.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import tempfile
import time
from typing import Dict, Iterator, List

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]


class Daemon:
    def __init__(self, env: Dict[str, str]) -> None:
        binary = os.environ.get("RIPTIDE_POOLD_BIN") or str(ROOT / "bin" / "riptide-poold")
        if not os.path.exists(binary):
            pytest.fail(f"no daemon binary at {binary}: run `make build` or set RIPTIDE_POOLD_BIN")
        self._tmp = tempfile.TemporaryDirectory()
        cache = os.environ.get("RIPTIDE_TEST_WAZERO_CACHE") or os.path.join(self._tmp.name, "cache")
        full = {
            "PATH": os.environ.get("PATH", ""), "HOME": self._tmp.name,
            "GRPC_ADDR": "127.0.0.1:0", "METRICS_ADDR": "127.0.0.1:0", "LOG_FORMAT": "json",
            "NATIVE_POOL_SIZE": "2", "NATIVE_MAX_INSTANCES": "8",
            "WASM_POOL_SIZE": "1", "WASM_MAX_INSTANCES": "2", "WASM_COMPILATION_CACHE_DIR": cache,
        }
        full.update(env)
        self.log = os.path.join(self._tmp.name, "daemon.log")
        with open(self.log, "w") as f:
            self.proc = subprocess.Popen([binary], env=full, stderr=f, stdout=subprocess.DEVNULL)
        self.addr = self.metrics = ""
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            lines = self._lines()
            for rec in lines:
                if rec.get("msg") == "gRPC listening":
                    self.addr = str(rec["addr"])
                if rec.get("msg") == "metrics listening":
                    self.metrics = str(rec["addr"])
            if any(rec.get("msg") == "serving" for rec in lines):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        pytest.fail("daemon did not start:\n" + open(self.log).read())

    def _lines(self) -> List[Dict[str, object]]:
        out = []
        for line in open(self.log):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._tmp.cleanup()


@pytest.fixture(scope="session")
def daemon() -> Iterator[Daemon]:
    d = Daemon({"MAX_DOCUMENT_BYTES": "8388608", "MAX_RESULT_BYTES": "16777216"})
    yield d
    d.stop()


@pytest.fixture(scope="session")
def small_daemon() -> Iterator[Daemon]:
    """One css instance, a short checkout timeout, no WASM."""
    d = Daemon({"NATIVE_POOL_SIZE": "1", "NATIVE_MAX_INSTANCES": "1", "CHECKOUT_TIMEOUT_MS": "100",
                "WASM_POOL_ENABLED": "false", "MAX_DOCUMENT_BYTES": "4096"})
    yield d
    d.stop()
