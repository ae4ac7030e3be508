import { Metadata, status as Status } from "@grpc/grpc-js";
import * as protobuf from "protobufjs";

export const ERROR_DOMAIN = "riptide.pool.v1";

/** Options of a RiptideError beyond its code and message. */
export interface ErrorDetails {
  reason?: string;
  pool?: string;
  field?: string;
  retryDelayMs?: number;
  metadata?: Record<string, string>;
  attempts?: number;
}

/**
 * A failed call: the gRPC code and what the status details say. `reason`
 * is the ErrorInfo reason ("" for a transport failure or the caller's own
 * deadline), `field` the invalid request field (BadRequest), `retryDelayMs`
 * what RetryInfo asks to wait (undefined when it did not say), `attempts`
 * how many times the call was sent.
 */
export class RiptideError extends Error {
  readonly code: Status;
  readonly reason: string;
  readonly pool: string;
  readonly field: string;
  readonly retryDelayMs: number | undefined;
  readonly metadata: Record<string, string>;
  readonly attempts: number;

  constructor(code: Status, message: string, d: ErrorDetails = {}) {
    super(`${Status[code]}${d.reason ? " " + d.reason : ""}: ${message}`);
    this.name = new.target.name;
    this.code = code;
    this.reason = d.reason ?? "";
    this.pool = d.pool ?? "";
    this.field = d.field ?? "";
    this.retryDelayMs = d.retryDelayMs;
    this.metadata = d.metadata ?? {};
    this.attempts = d.attempts ?? 1;
  }
}

/** INVALID_ARGUMENT INVALID_REQUEST: `field` names what was wrong. */
export class InvalidRequest extends RiptideError {}
/** RESOURCE_EXHAUSTED DOCUMENT_TOO_LARGE. */
export class DocumentTooLarge extends RiptideError {}
/** RESOURCE_EXHAUSTED RESULT_TOO_LARGE. */
export class ResultTooLarge extends RiptideError {}
/** RESOURCE_EXHAUSTED POOL_EXHAUSTED: retried; thrown when retries end. */
export class PoolExhausted extends RiptideError {}
/** UNAVAILABLE CIRCUIT_OPEN: `retryDelayMs` is the time until half-open. */
export class CircuitOpen extends RiptideError {}
/** UNAVAILABLE CREATION_FAILED. */
export class CreationFailed extends RiptideError {}
/** RESOURCE_EXHAUSTED MEMORY_LIMIT_EXCEEDED. */
export class MemoryLimitExceeded extends RiptideError {}
/** INTERNAL EXTRACTOR_FAILED. */
export class ExtractorFailed extends RiptideError {}
/** DEADLINE_EXCEEDED EXTRACTOR_TIMEOUT. */
export class ExtractorTimeout extends RiptideError {}
/** NOT_FOUND LEASE_NOT_FOUND. */
export class LeaseNotFound extends RiptideError {}
/** FAILED_PRECONDITION LEASE_MISMATCH. */
export class LeaseMismatch extends RiptideError {}
/** UNAVAILABLE SHUTTING_DOWN: the replica is draining; retried. */
export class ShuttingDown extends RiptideError {}
/** UNAVAILABLE without a reason: no replica could be reached. */
export class Unavailable extends RiptideError {}
/** The call's deadline passed. */
export class DeadlineExceeded extends RiptideError {}

const BY_REASON: Record<string, new (code: Status, message: string, d?: ErrorDetails) => RiptideError> = {
  INVALID_REQUEST: InvalidRequest,
  DOCUMENT_TOO_LARGE: DocumentTooLarge,
  RESULT_TOO_LARGE: ResultTooLarge,
  POOL_EXHAUSTED: PoolExhausted,
  CIRCUIT_OPEN: CircuitOpen,
  CREATION_FAILED: CreationFailed,
  MEMORY_LIMIT_EXCEEDED: MemoryLimitExceeded,
  EXTRACTOR_FAILED: ExtractorFailed,
  EXTRACTOR_TIMEOUT: ExtractorTimeout,
  LEASE_NOT_FOUND: LeaseNotFound,
  LEASE_MISMATCH: LeaseMismatch,
  SHUTTING_DOWN: ShuttingDown,
};

// google.rpc.Status and the details the client reads, under a private
// package with the same field numbers: they decode the
// grpc-status-details-bin trailer without googleapis' protos.
const root = protobuf.parse(`
syntax = "proto3";
package riptide_poold.rpc;
message Any { string type_url = 1; bytes value = 2; }
message Duration { int64 seconds = 1; int32 nanos = 2; }
message Status { int32 code = 1; string message = 2; repeated Any details = 3; }
message ErrorInfo { string reason = 1; string domain = 2; map<string, string> metadata = 3; }
message RetryInfo { Duration retry_delay = 1; }
message BadRequest { message FieldViolation { string field = 1; string description = 2; } repeated FieldViolation field_violations = 1; }
`, { keepCase: true }).root;
const StatusMsg = root.lookupType("riptide_poold.rpc.Status");
const ErrorInfoMsg = root.lookupType("riptide_poold.rpc.ErrorInfo");
const RetryInfoMsg = root.lookupType("riptide_poold.rpc.RetryInfo");
const BadRequestMsg = root.lookupType("riptide_poold.rpc.BadRequest");
const TYPE_PREFIX = "type.googleapis.com/google.rpc.";

/** A gRPC error as grpc-js hands it over. */
export interface ServiceErrorLike {
  code?: number;
  details?: string;
  message?: string;
  metadata?: Metadata;
}

/** Builds the RiptideError subclass for a failed call. */
export function fromServiceError(err: ServiceErrorLike, attempts = 1): RiptideError {
  const code = (err.code ?? Status.UNKNOWN) as Status;
  const message = err.details ?? err.message ?? "";
  const d: ErrorDetails = { attempts };
  for (const raw of err.metadata?.get("grpc-status-details-bin") ?? []) {
    if (!Buffer.isBuffer(raw)) continue;
    let st: Record<string, any>;
    try {
      st = StatusMsg.toObject(StatusMsg.decode(raw), { longs: Number, defaults: true });
    } catch {
      continue; // a malformed trailer is no reason to lose the error
    }
    for (const any of st.details ?? []) {
      const name = String(any.type_url ?? "").startsWith(TYPE_PREFIX) ? String(any.type_url).slice(TYPE_PREFIX.length) : "";
      try {
        if (name === "ErrorInfo") {
          const info = ErrorInfoMsg.toObject(ErrorInfoMsg.decode(any.value), { defaults: true });
          if (info.domain === ERROR_DOMAIN) {
            d.reason = info.reason;
            d.metadata = { ...info.metadata };
            d.pool = info.metadata?.pool ?? "";
            d.field = d.field || (info.metadata?.field ?? "");
          }
        } else if (name === "BadRequest") {
          const br = BadRequestMsg.toObject(BadRequestMsg.decode(any.value), { defaults: true });
          if (br.field_violations?.length) d.field = br.field_violations[0].field;
        } else if (name === "RetryInfo") {
          const ri = RetryInfoMsg.toObject(RetryInfoMsg.decode(any.value), { longs: Number, defaults: true });
          const delay = ri.retry_delay ?? {};
          d.retryDelayMs = Number(delay.seconds ?? 0) * 1000 + Number(delay.nanos ?? 0) / 1e6;
        }
      } catch {
        continue;
      }
    }
  }
  const cls =
    (d.reason && BY_REASON[d.reason]) ||
    (code === Status.UNAVAILABLE ? Unavailable : code === Status.DEADLINE_EXCEEDED ? DeadlineExceeded : RiptideError);
  return new cls(code, message, d);
}
