import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import * as path from "node:path";
import { DocumentTooLarge, InvalidRequest, RiptideError, fromServiceError } from "./errors";
import { JsonValue, decodeStruct } from "./value";

const PROTO = path.join(__dirname, "..", "..", "proto", "pool.proto");

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_ATTEMPTS = 4;
/** One wait between attempts at most: a breaker's 30 s open time is better answered with CircuitOpen. */
export const DEFAULT_MAX_RETRY_DELAY_MS = 2_000;
const BACKOFF_BASE_MS = 25;
const BACKOFF_MAX_MS = 1_000;
const MESSAGE_SLACK = 1 << 20;
const BOOTSTRAP_MESSAGE = 4 << 20;
const RELEASE_TIMEOUT_MS = 5_000;
const MAX_RESUBSCRIBES = 5;
const ROUND_ROBIN = JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] });

let service: grpc.ServiceClientConstructor | undefined;
function serviceClient(): grpc.ServiceClientConstructor {
  if (!service) {
    const def = protoLoader.loadSync(PROTO, { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
    const pkg = grpc.loadPackageDefinition(def) as any;
    service = pkg.riptide.pool.v1.PoolService as grpc.ServiceClientConstructor;
  }
  return service;
}

/** The document: HTML text, or bytes in any charset (with contentType). */
export type Doc = string | Uint8Array;

export interface DocOptions {
  url?: string;
  contentType?: string;
  timeoutMs?: number;
}
export interface CssQuery {
  selector: string;
  attribute?: string;
  output?: "text" | "inner_html" | "outer_html";
  all?: boolean;
  limit?: number;
  /** Resolve URL-valued attributes against the document's URL as a browser does. */
  absoluteUrls?: boolean;
}
export interface XPathQuery {
  expression: string;
  attribute?: string;
  output?: "text" | "inner_html" | "outer_html";
  all?: boolean;
  limit?: number;
  absoluteUrls?: boolean;
}
export interface StructuredQuery {
  /** Of "json-ld", "microdata", "opengraph", "rdfa", "microformat", "twitter", "meta"; all when empty. */
  syntaxes?: string[];
  flattenGraph?: boolean;
}
export interface RegexQuery {
  pattern: string;
  all?: boolean;
  limit?: number;
  source?: "text" | "html";
}
export type FieldQuery = { css: CssQuery } | { xpath: XPathQuery } | { regex: RegexQuery } | { structured: StructuredQuery };
export interface WasmQuery {
  module?: string;
  mode?: string;
  selectors?: string[];
}
export interface Served {
  pool: string;
  instanceId: string;
  queueWaitMs: number;
  extractionMs: number;
  totalMs: number;
  fallback: boolean;
}
/** What an XPath expression answered: its type, and the number or boolean. */
export interface XPathAnswer { type: "node_set" | "string" | "number" | "boolean"; number: number; boolean: boolean }
/** A CSS or XPath answer; for XPath, `xpath` says what the expression answered. */
export interface Values {
  values: string[];
  truncated: boolean;
  unresolvedUrls: number;
  xpath?: XPathAnswer;
  served: Served;
}
export interface Match { value: string; start: number; end: number; groups: string[]; named: Record<string, string> }
export interface Matches { matches: Match[]; truncated: boolean; served: Served }
/**
 * One field's answer: values (CSS, XPath; with unresolvedUrls, and xpath as in Values), matches (regex) or
 * result (structured, extruct's shape).
 */
export interface FieldResult {
  values: string[]; matches: Match[]; truncated: boolean; unresolvedUrls: number; xpath?: XPathAnswer;
  result?: { [key: string]: JsonValue };
}
export interface Fields { fields: Record<string, FieldResult>; served: Served }
/** A module's or a structured question's JSON object; truncated: the daemon cut a structured answer at one of its bounds. */
export interface Result { result: { [key: string]: JsonValue }; truncated: boolean; served: Served }
export interface Link { url: string; text: string }
export interface Media { type: string; url: string; alt: string }
export interface Article {
  url: string; title: string; byline: string; published_time: string; site_name: string; description: string;
  lang: string; dir: string; authors?: string[]; categories?: string[]; tags?: string[]; text: string; content_html: string; markdown: string; links: Link[]; media: Media[];
  word_count: number; reading_time_minutes: number; quality_score: number; selectors?: Record<string, string[]>;
  served: Served;
}
export interface Limits {
  maxDocumentBytes: number; maxResultBytes: number; maxMatches: number; maxFields: number;
  checkoutTimeoutMs: number; leaseDefaultTtlMs: number; leaseMaxTtlMs: number;
}
export interface EventFilter { kinds?: string[]; pools?: string[]; bufferSize?: number; timeoutMs?: number }
/** A pool event as proto-loader decodes it (keepCase: snake_case fields; `kind` names the set oneof field). */
export type PoolEvent = { time?: { seconds: number; nanos: number }; pool: string; instance_id: string; kind: string } & Record<string, any>;

export interface ClientOptions {
  /** Deadline of a call given none (default 30 s); it covers every attempt. */
  timeoutMs?: number;
  /** Most times an idempotent call is sent (default 4); 1 turns retries off. */
  maxAttempts?: number;
  /** Longest wait between attempts (default 2 s); a RetryInfo asking more ends the retries. */
  maxRetryDelayMs?: number;
  /** Default: plaintext, as the daemon serves without TLS_CERT_FILE. */
  credentials?: grpc.ChannelCredentials;
  /** Further channel options, after the client's own. */
  channelOptions?: grpc.ChannelOptions;
}

const NEVER = 0, IDEMPOTENT = 1, REFUSED = 2;
const REFUSED_REASONS = new Set(["SHUTTING_DOWN", "CIRCUIT_OPEN", "CREATION_FAILED"]);

/** Whether a failure of a call of class cls may be retried. */
export function retries(cls: number, code: grpc.status, reason: string): boolean {
  if (cls === NEVER) return false;
  if (reason === "POOL_EXHAUSTED") return true;
  if (code !== grpc.status.UNAVAILABLE) return false;
  return cls === IDEMPOTENT || REFUSED_REASONS.has(reason);
}

function backoff(n: number): number {
  const d = Math.min(BACKOFF_BASE_MS * 2 ** Math.min(n - 1, 16), BACKOFF_MAX_MS);
  return d / 2 + Math.random() * (d / 2);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ms = (d: any): number => (d ? Number(d.seconds ?? 0) * 1000 + Number(d.nanos ?? 0) / 1e6 : 0);
const duration = (msValue: number) => ({ seconds: Math.floor(msValue / 1000), nanos: Math.round((msValue % 1000) * 1e6) });

function served(r: any): Served {
  const t = r.timing ?? {};
  return {
    pool: r.pool, instanceId: r.instance_id, fallback: r.fallback,
    queueWaitMs: ms(t.queue_wait), extractionMs: ms(t.extraction), totalMs: ms(t.total),
  };
}
const matches = (ms_: any[]): Match[] =>
  (ms_ ?? []).map((m) => ({ value: m.value, start: m.start, end: m.end, groups: m.groups ?? [], named: m.named_groups ?? {} }));

function cssSpec(q: CssQuery) {
  const output = q.output ?? "text";
  if (!["text", "inner_html", "outer_html"].includes(output)) throw invalid("css.output", `${output}: want text, inner_html or outer_html`);
  return { selector: q.selector, attribute: q.attribute ?? "", output: "CSS_OUTPUT_" + output.toUpperCase(), all: !!q.all, limit: q.limit ?? 0, absolute_urls: !!q.absoluteUrls };
}
function xpathSpec(q: XPathQuery) {
  const output = q.output ?? "text";
  if (!["text", "inner_html", "outer_html"].includes(output)) throw invalid("xpath.output", `${output}: want text, inner_html or outer_html`);
  return { expression: q.expression, attribute: q.attribute ?? "", output: "CSS_OUTPUT_" + output.toUpperCase(), all: !!q.all, limit: q.limit ?? 0, absolute_urls: !!q.absoluteUrls };
}
/** The XPath part of an ExtractResponse or FieldResult, when it has one. */
function xpathAnswer(x: any): XPathAnswer | undefined {
  if (!x || !x.type || x.type === "XPATH_RESULT_TYPE_UNSPECIFIED") return undefined;
  return { type: String(x.type).replace("XPATH_RESULT_TYPE_", "").toLowerCase() as any, number: x.number, boolean: x.boolean };
}
function values(r: any): Values {
  const v: Values = { values: r.values ?? [], truncated: !!r.truncated, unresolvedUrls: r.unresolved_urls ?? 0, served: served(r) };
  const x = xpathAnswer(r.xpath);
  if (x) v.xpath = x;
  return v;
}
function regexSpec(q: RegexQuery) {
  const source = q.source ?? "text";
  if (!["text", "html"].includes(source)) throw invalid("regex.source", `${source}: want text or html`);
  return { pattern: q.pattern, all: !!q.all, limit: q.limit ?? 0, source: "REGEX_SOURCE_" + source.toUpperCase() };
}
function structuredSpec(q: StructuredQuery) {
  return { syntaxes: q.syntaxes ?? [], flatten_graph: !!q.flattenGraph };
}
function invalid(field: string, msg: string): InvalidRequest {
  return new InvalidRequest(grpc.status.INVALID_ARGUMENT, `${field}: ${msg}`, { reason: "INVALID_REQUEST", field, attempts: 0 });
}

/** Runs calls on one channel with deadlines, limits and retries. */
class Caller {
  constructor(readonly stub: any, readonly opts: Required<Omit<ClientOptions, "credentials" | "channelOptions">>, public limits?: Limits) {}

  /** One call; the retry loop runs only once an attempt has failed. */
  async call<T>(method: string, req: object, cls: number, timeoutMs?: number, callOpts: grpc.CallOptions = {}): Promise<T> {
    const deadline = Date.now() + (timeoutMs ?? this.opts.timeoutMs);
    for (let n = 1; ; n++) {
      try {
        return await new Promise<T>((resolve, reject) => {
          this.stub[method](req, { ...callOpts, deadline: new Date(deadline) },
            (err: grpc.ServiceError | null, resp: T) => (err ? reject(err) : resolve(resp)));
        });
      } catch (e) {
        await this.again(e, cls, n, deadline);
      }
    }
  }

  /** As call, and the address of the replica that answered (a lease lives there). */
  async callWithPeer<T>(method: string, req: object, cls: number, timeoutMs?: number, callOpts: grpc.CallOptions = {}): Promise<[T, string]> {
    const deadline = Date.now() + (timeoutMs ?? this.opts.timeoutMs);
    for (let n = 1; ; n++) {
      let peer = "";
      try {
        const resp = await new Promise<T>((resolve, reject) => {
          const call = this.stub[method](req, { ...callOpts, deadline: new Date(deadline) },
            (err: grpc.ServiceError | null, resp: T) => (err ? reject(err) : resolve(resp)));
          call.on("status", () => { try { peer = call.getPeer(); } catch { /* closed */ } });
          try { peer = call.getPeer(); } catch { /* not yet */ }
        });
        return [resp, peer];
      } catch (e) {
        await this.again(e, cls, n, deadline);
      }
    }
  }

  /** After the n-th attempt failed with e: waits and returns to retry, or throws the error to give up with. */
  private async again(e: unknown, cls: number, n: number, deadline: number): Promise<void> {
    const err = e instanceof RiptideError ? e : fromServiceError(e as grpc.ServiceError, n);
    const delay = err.retryDelayMs && err.retryDelayMs > 0 ? err.retryDelayMs : backoff(n);
    if (n >= this.opts.maxAttempts || !retries(cls, err.code, err.reason) || delay > this.opts.maxRetryDelayMs ||
        deadline - Date.now() <= delay) {
      throw err;
    }
    await sleep(delay);
  }

  async extract(req: any, doc: Doc, lease: string, timeoutMs?: number): Promise<any> {
    if (this.limits && overLimit(doc, this.limits.maxDocumentBytes)) {
      const size = typeof doc === "string" ? Buffer.byteLength(doc, "utf8") : doc.byteLength;
      const field = typeof doc === "string" ? "html" : "raw_html";
      throw new DocumentTooLarge(grpc.status.RESOURCE_EXHAUSTED,
        `${field}: ${size} bytes, over the daemon's max_document_bytes ${this.limits.maxDocumentBytes} (not sent)`,
        { reason: "DOCUMENT_TOO_LARGE", field, attempts: 0 });
    }
    if (lease) req.lease_id = lease;
    return this.call("Extract", req, lease ? NEVER : IDEMPOTENT, timeoutMs);
  }
}

/**
 * Whether doc's UTF-8 form is over limit bytes. A string's UTF-16 code unit
 * is 1 to 3 UTF-8 bytes, so its length alone decides unless it is between
 * limit / 3 and limit; only then is it measured (a scan of the page).
 */
function overLimit(doc: Doc, limit: number): boolean {
  if (typeof doc !== "string") return doc.byteLength > limit;
  if (doc.length > limit) return true;
  return 3 * doc.length > limit && Buffer.byteLength(doc, "utf8") > limit;
}

function docRequest(doc: Doc, o: DocOptions): any {
  return typeof doc === "string"
    ? { html: doc, url: o.url ?? "" }
    : { raw_html: Buffer.from(doc), content_type: o.contentType ?? "", url: o.url ?? "" };
}

/** The extraction helpers, on a pool (Client) or a lease (Lease). */
abstract class Extractor {
  protected abstract caller: Caller;
  protected leaseId = "";

  /** The text (or output, or attribute) of the first match of a CSS selector, or of every match with all. */
  async css(doc: Doc, q: string | CssQuery, o: DocOptions = {}): Promise<Values> {
    const req = { ...docRequest(doc, o), css: cssSpec(typeof q === "string" ? { selector: q } : q) };
    return values(await this.caller.extract(req, doc, this.leaseId, o.timeoutMs));
  }

  /** An XPath 1.0 question: a node set's texts, or what the expression answers (values[0] and xpath). */
  async xpath(doc: Doc, q: string | XPathQuery, o: DocOptions = {}): Promise<Values> {
    const req = { ...docRequest(doc, o), xpath: xpathSpec(typeof q === "string" ? { expression: q } : q) };
    return values(await this.caller.extract(req, doc, this.leaseId, o.timeoutMs));
  }

  /** The page's structured data (JSON-LD, microdata, OpenGraph, RDFa, microformats, Twitter cards, meta tags), shaped as extruct answers. */
  async structured(doc: Doc, q: StructuredQuery = {}, o: DocOptions = {}): Promise<Result> {
    const req = { ...docRequest(doc, o), structured: structuredSpec(q) };
    const r = await this.caller.extract(req, doc, this.leaseId, o.timeoutMs);
    return { result: decodeStruct(r.result), truncated: !!r.truncated, served: served(r) };
  }

  /** Matches of a Go RE2 pattern in the visible text (source "html": the markup). */
  async regex(doc: Doc, q: string | RegexQuery, o: DocOptions = {}): Promise<Matches> {
    const req = { ...docRequest(doc, o), regex: regexSpec(typeof q === "string" ? { pattern: q } : q) };
    const r = await this.caller.extract(req, doc, this.leaseId, o.timeoutMs);
    return { matches: matches(r.matches), truncated: !!r.truncated, served: served(r) };
  }

  /** Several named CSS, XPath, regex or structured questions answered from one parse. */
  async fields(doc: Doc, fields: Record<string, FieldQuery>, o: DocOptions = {}): Promise<Fields> {
    const spec: Record<string, object> = {};
    for (const [name, f] of Object.entries(fields)) {
      const keys = Object.keys(f);
      const one = "a field is exactly one of { css }, { xpath }, { regex } or { structured }";
      if (keys.length !== 1) throw invalid(`fields.${name}`, one);
      if ("css" in f) spec[name] = { css: cssSpec(f.css) };
      else if ("xpath" in f) spec[name] = { xpath: xpathSpec(f.xpath) };
      else if ("regex" in f) spec[name] = { regex: regexSpec(f.regex) };
      else if ("structured" in f) spec[name] = { structured: structuredSpec(f.structured) };
      else throw invalid(`fields.${name}`, one);
    }
    const r = await this.caller.extract({ ...docRequest(doc, o), fields: { fields: spec } }, doc, this.leaseId, o.timeoutMs);
    const out: Record<string, FieldResult> = {};
    for (const [name, f] of Object.entries<any>(r.fields ?? {})) {
      out[name] = { values: f.values ?? [], matches: matches(f.matches), truncated: !!f.truncated, unresolvedUrls: f.unresolved_urls ?? 0 };
      const x = xpathAnswer(f.xpath);
      if (x) out[name].xpath = x;
      if (f.result) out[name].result = decodeStruct(f.result);
    }
    return { fields: out, served: served(r) };
  }

  /** A WebAssembly module's extraction: its JSON object, google.protobuf.Value decoded whatever its nesting. */
  async wasm(doc: Doc, q: WasmQuery = {}, o: DocOptions = {}): Promise<Result> {
    const req = { ...docRequest(doc, o), wasm: { module: q.module ?? "article", mode: q.mode ?? "", selectors: q.selectors ?? [] } };
    const r = await this.caller.extract(req, doc, this.leaseId, o.timeoutMs);
    return { result: decodeStruct(r.result), truncated: !!r.truncated, served: served(r) };
  }

  /** The bundled article module's result. */
  async article(doc: Doc, mode = "article", o: DocOptions = {}): Promise<Article> {
    const r = await this.wasm(doc, { module: "article", mode }, o);
    return { ...(r.result as any), links: (r.result.links as any) ?? [], media: (r.result.media as any) ?? [], served: r.served };
  }
}

/**
 * A client of one daemon or a fleet: any gRPC target ("host:port",
 * "dns:///name:50051", "ipv4:10.0.0.1:50051,10.0.0.2:50051",
 * "unix:///run/riptide/poold.sock"), calls round-robin over its addresses.
 * Create it with `await Client.connect(target)`: that waits for a replica
 * and reads the daemon's limits, which size the channel's messages.
 */
export class Client extends Extractor {
  protected caller!: Caller;
  limits!: Limits;
  private readonly opts: Required<Omit<ClientOptions, "credentials" | "channelOptions">>;

  private constructor(readonly target: string, private readonly options: ClientOptions) {
    super();
    this.opts = {
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      maxAttempts: Math.max(1, options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS),
      maxRetryDelayMs: options.maxRetryDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS,
    };
  }

  static async connect(target: string, options: ClientOptions = {}): Promise<Client> {
    const c = new Client(target, options);
    const boot = new Caller(c.stubFor(target, undefined), c.opts);
    let resp: any;
    try {
      resp = await boot.call("ListExtractors", {}, IDEMPOTENT, undefined, { waitForReady: true } as grpc.CallOptions);
    } finally {
      boot.stub.close();
    }
    const l = resp.limits ?? {};
    c.limits = {
      maxDocumentBytes: Number(l.max_document_bytes), maxResultBytes: Number(l.max_result_bytes),
      maxMatches: l.max_matches, maxFields: l.max_fields, checkoutTimeoutMs: ms(l.checkout_timeout),
      leaseDefaultTtlMs: ms(l.lease_default_ttl), leaseMaxTtlMs: ms(l.lease_max_ttl),
    };
    c.caller = new Caller(c.stubFor(target, c.limits), c.opts, c.limits);
    return c;
  }

  /** @internal */
  stubFor(target: string, limits: Limits | undefined): any {
    const Service = serviceClient();
    const recv = limits ? Math.min(limits.maxResultBytes + MESSAGE_SLACK, 2 ** 31 - 1) : BOOTSTRAP_MESSAGE;
    const send = limits ? Math.min(limits.maxDocumentBytes + MESSAGE_SLACK, 2 ** 31 - 1) : BOOTSTRAP_MESSAGE;
    return new Service(target, this.options.credentials ?? grpc.credentials.createInsecure(), {
      "grpc.service_config": ROUND_ROBIN,
      "grpc.max_receive_message_length": recv,
      "grpc.max_send_message_length": send,
      ...this.options.channelOptions,
    });
  }

  /** The generated client on the same channel, without deadlines or retries. */
  get stub(): any {
    return this.caller.stub;
  }

  close(): void {
    this.caller.stub.close();
  }

  health(timeoutMs?: number): Promise<any> {
    return this.caller.call("Health", {}, IDEMPOTENT, timeoutMs);
  }
  getMetrics(pools: string[] = [], timeoutMs?: number): Promise<any> {
    return this.caller.call("GetMetrics", { pools }, IDEMPOTENT, timeoutMs);
  }
  listExtractors(timeoutMs?: number): Promise<any> {
    return this.caller.call("ListExtractors", {}, IDEMPOTENT, timeoutMs);
  }

  /**
   * Checks out an instance of pool for ttlMs (undefined: the daemon's
   * default). Release it with `await lease.release()`, or hold it in
   * `await using lease = await client.lease("css")`, or use withLease.
   */
  async lease(pool: string, ttlMs?: number, timeoutMs?: number): Promise<Lease> {
    const req: any = { pool };
    if (ttlMs !== undefined) req.ttl = duration(ttlMs);
    const [resp, peer] = await this.caller.callWithPeer<any>("Checkout", req, REFUSED, timeoutMs);
    // The lease lives on the replica that granted it: its calls go there.
    const target = peer.startsWith("/") ? "unix://" + peer : peer;
    return new Lease(new Caller(this.stubFor(target || this.target, this.limits), this.opts, this.limits), resp.lease);
  }

  /** Runs fn on a lease and releases it however fn ends. */
  async withLease<T>(pool: string, fn: (lease: Lease) => Promise<T>, ttlMs?: number): Promise<T> {
    const lease = await this.lease(pool, ttlMs);
    try {
      return await fn(lease);
    } finally {
      await lease.release();
    }
  }

  /**
   * Pool events of one replica as an async iterator, until timeoutMs (if
   * given) or the loop breaks. A stream ended UNAVAILABLE (a connection's
   * max age, a replica gone) is reopened on the next replica; events in
   * between are not seen.
   */
  async *events(f: EventFilter = {}): AsyncGenerator<PoolEvent> {
    const req = { kinds: f.kinds ?? [], pools: f.pools ?? [], buffer_size: f.bufferSize ?? 0 };
    const end = f.timeoutMs === undefined ? undefined : Date.now() + f.timeoutMs;
    for (let failures = 0; ;) {
      const stream: grpc.ClientReadableStream<any> = this.caller.stub.PoolEvents(req, new grpc.Metadata(),
        end === undefined ? {} : { deadline: new Date(end) });
      try {
        for await (const resp of stream) {
          failures = 0;
          yield resp.event as PoolEvent;
        }
        return; // the daemon ended the stream: it is draining
      } catch (e) {
        const err = fromServiceError(e as grpc.ServiceError, ++failures);
        if (err.code === grpc.status.DEADLINE_EXCEEDED && end !== undefined) return;
        if (err.code !== grpc.status.UNAVAILABLE || failures > MAX_RESUBSCRIBES) throw err;
        await sleep(backoff(failures));
      } finally {
        stream.cancel();
      }
    }
  }
}

/** An instance out of its pool for this caller; its calls go to the replica that granted it and are not retried. */
export class Lease extends Extractor {
  readonly id: string;
  readonly pool: string;
  readonly instanceId: string;
  expiresAt: Date;
  private closed = false;

  constructor(protected caller: Caller, lease: any) {
    super();
    this.id = lease.lease_id;
    this.leaseId = this.id;
    this.pool = lease.pool;
    this.instanceId = lease.instance_id;
    this.expiresAt = new Date(ms(lease.expires_at));
  }

  async renew(ttlMs?: number, timeoutMs?: number): Promise<void> {
    const req: any = { lease_id: this.id };
    if (ttlMs !== undefined) req.ttl = duration(ttlMs);
    const resp: any = await this.caller.call("RenewLease", req, NEVER, timeoutMs);
    this.expiresAt = new Date(ms(resp.lease?.expires_at));
  }

  /** Returns the instance (or discards it); only the first call acts. */
  async release(discard = false, timeoutMs = RELEASE_TIMEOUT_MS): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.caller.call("ReleaseLease", { lease_id: this.id, discard }, NEVER, timeoutMs);
    } finally {
      this.caller.stub.close();
    }
  }

  /** For `await using lease = await client.lease(...)` (TypeScript 5.2+, Node with Symbol.asyncDispose). */
  async [(Symbol as any).asyncDispose ?? Symbol.for("Symbol.asyncDispose")](): Promise<void> {
    await this.release();
  }
}
