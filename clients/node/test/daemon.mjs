// Starts a real riptide-poold for the tests: $RIPTIDE_POOLD_BIN, else the
// repository's bin/riptide-poold (make build), on kernel-chosen loopback
// ports; the WASM compilation cache is $RIPTIDE_TEST_WAZERO_CACHE if set.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

export async function startDaemon(env = {}) {
  const bin = process.env.RIPTIDE_POOLD_BIN || path.join(root, "bin", "riptide-poold");
  if (!existsSync(bin)) throw new Error(`no daemon binary at ${bin}: run make build or set RIPTIDE_POOLD_BIN`);
  const dir = mkdtempSync(path.join(tmpdir(), "riptide-node-test-"));
  const log = path.join(dir, "daemon.log");
  const { openSync } = await import("node:fs");
  const fd = openSync(log, "w");
  const proc = spawn(bin, [], {
    stdio: ["ignore", "ignore", fd],
    env: {
      PATH: process.env.PATH, HOME: dir, GRPC_ADDR: "127.0.0.1:0", METRICS_ADDR: "127.0.0.1:0", LOG_FORMAT: "json",
      NATIVE_POOL_SIZE: "2", NATIVE_MAX_INSTANCES: "8", WASM_POOL_SIZE: "1", WASM_MAX_INSTANCES: "2",
      WASM_COMPILATION_CACHE_DIR: process.env.RIPTIDE_TEST_WAZERO_CACHE || path.join(dir, "cache"),
      ...env,
    },
  });
  const d = { proc, addr: "", metrics: "" };
  d.stop = async () => {
    if (proc.exitCode === null) {
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    const recs = readFileSync(log, "utf8").split("\n").filter(Boolean).map((l) => { try { return JSON.parse(l); } catch { return {}; } });
    for (const r of recs) {
      if (r.msg === "gRPC listening") d.addr = r.addr;
      if (r.msg === "metrics listening") d.metrics = r.addr;
    }
    if (recs.some((r) => r.msg === "serving")) return d;
    if (proc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const text = readFileSync(log, "utf8");
  await d.stop();
  throw new Error("daemon did not start:\n" + text);
}
