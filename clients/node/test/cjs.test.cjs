// The CommonJS entry point is the same module as the ES one: one set of
// classes, so instanceof works whichever way an application loads it.
const { test } = require("node:test");
const assert = require("node:assert/strict");

test("require and import give the same classes", async () => {
  const cjs = require("..");
  const esm = await import("../dist/esm/index.mjs");
  assert.equal(typeof cjs.Client.connect, "function");
  assert.equal(cjs.Client, esm.Client);
  assert.equal(cjs.PoolExhausted, esm.PoolExhausted);
  assert.ok(new cjs.PoolExhausted(8, "x") instanceof esm.RiptideError);
});
