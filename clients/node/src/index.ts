/**
 * Client of riptide-poold, the gRPC extraction daemon.
 *
 *     const { Client } = require("riptide-poold");   // or: import { Client } from "riptide-poold";
 *     const c = await Client.connect("127.0.0.1:50051");
 *     console.log((await c.css(html, { selector: "a", attribute: "href", all: true })).values);
 *
 * docs/CLIENTS.md at the repository root describes the behaviour.
 */
export * from "./client";
export * from "./errors";
export { decodeStruct, decodeValue } from "./value";
export type { JsonValue } from "./value";
