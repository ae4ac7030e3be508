"""What the sync and asyncio clients share: requests, answers, retries."""

from __future__ import annotations

import dataclasses
import json
import socket
import random
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

import grpc

from riptide_poold._pb import pool_pb2 as pb
from riptide_poold.errors import InvalidRequest, DocumentTooLarge, RiptideError
from riptide_poold.types import (
    Article, Css, FieldResult, Fields, Limits, Link, Match, Matches, Media, Regex,
    Result, Served, Structured, Values, XPath,
)

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_ATTEMPTS = 4
# One wait between attempts at most: a breaker's 30 s open time is better
# answered with CircuitOpen than with a call that hangs for it.
DEFAULT_MAX_RETRY_DELAY = 2.0
BACKOFF_BASE = 0.025
BACKOFF_MAX = 1.0
# Room for the rest of a message around its document or result; the daemon
# allows as much.
MESSAGE_SLACK = 1 << 20
BOOTSTRAP_MESSAGE = 4 << 20

# Every call is spread round-robin over the addresses the target resolves
# to; the stream and connection windows match the daemon's.
ROUND_ROBIN = json.dumps({"loadBalancingConfig": [{"round_robin": {}}]})

Document = Union[str, bytes]

_OUTPUTS = {"text": pb.CSS_OUTPUT_TEXT, "inner_html": pb.CSS_OUTPUT_INNER_HTML, "outer_html": pb.CSS_OUTPUT_OUTER_HTML}
_SOURCES = {"text": pb.REGEX_SOURCE_TEXT, "html": pb.REGEX_SOURCE_HTML}

# Retry classes.
NEVER, IDEMPOTENT, REFUSED = 0, 1, 2
_REFUSED_REASONS = {"SHUTTING_DOWN", "CIRCUIT_OPEN", "CREATION_FAILED"}


def channel_options(limits: Optional[Limits]) -> List[Tuple[str, Any]]:
    recv = send = BOOTSTRAP_MESSAGE
    if limits is not None:
        recv = min(limits.max_result_bytes + MESSAGE_SLACK, 2**31 - 1)
        send = min(limits.max_document_bytes + MESSAGE_SLACK, 2**31 - 1)
    return [
        ("grpc.service_config", ROUND_ROBIN),
        ("grpc.max_receive_message_length", recv),
        ("grpc.max_send_message_length", send),
        ("grpc.http2.lookahead_bytes", 1 << 20),
        # Re-resolve soon after a replica goes away.
        ("grpc.dns_min_time_between_resolutions_ms", 1000),
    ]


def retries(cls: int, code: grpc.StatusCode, reason: str) -> bool:
    if cls == NEVER:
        return False
    if reason == "POOL_EXHAUSTED":
        return True
    if code != grpc.StatusCode.UNAVAILABLE:
        return False
    return cls == IDEMPOTENT or reason in _REFUSED_REASONS


def backoff(n: int) -> float:
    """The wait after the n-th failed attempt without RetryInfo."""
    d = min(BACKOFF_BASE * (2 ** min(n - 1, 16)), BACKOFF_MAX)
    return float(d / 2 + random.uniform(0, d / 2))


def next_delay(err: RiptideError, cls: int, n: int, max_attempts: int,
               max_delay: float, remaining: Optional[float]) -> Optional[float]:
    """Seconds to wait before attempt n+1, or None to give up with err."""
    if n >= max_attempts or not retries(cls, err.code, err.reason):
        return None
    delay = err.retry_delay if err.retry_delay else backoff(n)
    if delay > max_delay or (remaining is not None and remaining <= delay):
        return None
    return delay


def limits_from(resp: pb.ListExtractorsResponse) -> Limits:
    lim = resp.limits
    return Limits(
        max_document_bytes=lim.max_document_bytes,
        max_result_bytes=lim.max_result_bytes,
        max_matches=lim.max_matches,
        max_fields=lim.max_fields,
        checkout_timeout=lim.checkout_timeout.ToTimedelta().total_seconds(),
        lease_default_ttl=lim.lease_default_ttl.ToTimedelta().total_seconds(),
        lease_max_ttl=lim.lease_max_ttl.ToTimedelta().total_seconds(),
    )


def request(doc: Document, url: str, content_type: str, limits: Optional[Limits]) -> pb.ExtractRequest:
    """The document part of an ExtractRequest; a document over the daemon's
    MAX_DOCUMENT_BYTES is refused here, without sending it."""
    field = "raw_html" if isinstance(doc, bytes) else "html"
    if limits is not None and _over(doc, limits.max_document_bytes):
        size = len(doc) if isinstance(doc, bytes) else len(doc.encode("utf-8"))
        raise DocumentTooLarge(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            f"{field}: {size} bytes, over the daemon's max_document_bytes {limits.max_document_bytes} (not sent)",
            reason="DOCUMENT_TOO_LARGE", field=field, attempts=0,
        )
    if isinstance(doc, bytes):
        return pb.ExtractRequest(raw_html=doc, content_type=content_type, url=url)
    return pb.ExtractRequest(html=doc, url=url)


def _over(doc: Document, limit: int) -> bool:
    # A str's UTF-8 form is 1 to 4 bytes a code point: encode it (a copy
    # of the page) only when its length cannot decide.
    if isinstance(doc, bytes) or len(doc) > limit:
        return len(doc) > limit
    return 4 * len(doc) > limit and len(doc.encode("utf-8")) > limit


def css_spec(q: Css) -> pb.CssSpec:
    if q.output not in _OUTPUTS:
        raise _invalid("css.output", f"{q.output!r}: want one of {sorted(_OUTPUTS)}")
    return pb.CssSpec(selector=q.selector, attribute=q.attribute, output=_OUTPUTS[q.output], all=q.all, limit=q.limit,
                      absolute_urls=q.absolute_urls)


def xpath_spec(q: XPath) -> pb.XpathSpec:
    if q.output not in _OUTPUTS:
        raise _invalid("xpath.output", f"{q.output!r}: want one of {sorted(_OUTPUTS)}")
    return pb.XpathSpec(expression=q.expression, attribute=q.attribute, output=_OUTPUTS[q.output], all=q.all,
                        limit=q.limit, absolute_urls=q.absolute_urls)


def regex_spec(q: Regex) -> pb.RegexSpec:
    if q.source not in _SOURCES:
        raise _invalid("regex.source", f"{q.source!r}: want one of {sorted(_SOURCES)}")
    return pb.RegexSpec(pattern=q.pattern, all=q.all, limit=q.limit, source=_SOURCES[q.source])


def fields_spec(fields: Mapping[str, Union[Css, XPath, Regex, Structured]]) -> pb.FieldsSpec:
    spec = pb.FieldsSpec()
    for name, q in fields.items():
        if isinstance(q, Css):
            spec.fields[name].css.CopyFrom(css_spec(q))
        elif isinstance(q, XPath):
            spec.fields[name].xpath.CopyFrom(xpath_spec(q))
        elif isinstance(q, Regex):
            spec.fields[name].regex.CopyFrom(regex_spec(q))
        elif isinstance(q, Structured):
            spec.fields[name].structured.CopyFrom(pb.StructuredSpec(syntaxes=list(q.syntaxes), flatten_graph=q.flatten_graph))
        else:
            raise _invalid(f"fields.{name}", "a field is a Css, an XPath, a Regex or a Structured question")
    return spec


def wasm_spec(module: str, mode: str, selectors: Iterable[str]) -> pb.WasmSpec:
    return pb.WasmSpec(module=module, mode=mode, selectors=list(selectors))


def _invalid(field: str, msg: str) -> InvalidRequest:
    return InvalidRequest(grpc.StatusCode.INVALID_ARGUMENT, f"{field}: {msg}",
                          reason="INVALID_REQUEST", field=field, attempts=0)


def _seconds(d: Any) -> float:
    # Duration's own ToTimedelta().total_seconds() builds a timedelta per
    # field; three of them cost more than the rest of a call's typed answer.
    return float(d.seconds + d.nanos * 1e-9)


def served(r: pb.ExtractResponse) -> Served:
    t = r.timing
    return Served(
        pool=r.pool, instance_id=r.instance_id, fallback=r.fallback,
        queue_wait=_seconds(t.queue_wait), extraction=_seconds(t.extraction), total=_seconds(t.total),
    )


def _matches(ms: Iterable[pb.RegexMatch]) -> List[Match]:
    return [Match(value=m.value, start=m.start, end=m.end, groups=list(m.groups), named=dict(m.named_groups)) for m in ms]


def _xpath_type(x: pb.XpathResult) -> str:
    return str(pb.XpathResultType.Name(x.type)).removeprefix("XPATH_RESULT_TYPE_").lower()


def values(r: pb.ExtractResponse) -> Values:
    if not r.HasField("xpath"):  # a CSS answer: no XPath part to read
        return Values(values=list(r.values), truncated=r.truncated, served=served(r),
                      unresolved_urls=r.unresolved_urls)
    x = r.xpath
    return Values(values=list(r.values), truncated=r.truncated, served=served(r), unresolved_urls=r.unresolved_urls,
                  xpath_type=_xpath_type(x), number=x.number, boolean=x.boolean)


def _field(f: pb.FieldResult) -> FieldResult:
    out = FieldResult(values=list(f.values), matches=_matches(f.matches), truncated=f.truncated,
                      result=_struct(f.result, 0) if f.HasField("result") else None,
                      unresolved_urls=f.unresolved_urls)
    if not f.HasField("xpath"):  # not an XPath field
        return out
    x = f.xpath
    return dataclasses.replace(out, xpath_type=_xpath_type(x), number=x.number, boolean=x.boolean)


def matches(r: pb.ExtractResponse) -> Matches:
    return Matches(matches=_matches(r.matches), truncated=r.truncated, served=served(r))


def fields(r: pb.ExtractResponse) -> Fields:
    return Fields(
        fields={n: _field(f) for n, f in r.fields.items()},
        served=served(r),
    )


# The depth a Value may nest to before decoding gives up with ValueError:
# the daemon's results nest at most 32 levels (MaxResultDepth), and a cap
# keeps a hostile reply from exhausting the stack; each level is two
# Python frames, well within the default recursion limit of 1000.
MAX_VALUE_DEPTH = 128


def result(r: pb.ExtractResponse) -> Result:
    """The module's JSON object, whatever the nesting of lists and structs;
    whole numbers come back as int, as json.loads would give them."""
    return Result(result=_struct(r.result, 0), served=served(r), truncated=r.truncated)


# One pass over the Struct: json_format.MessageToDict and then a second walk
# turning whole floats into ints took 3.5 times as long (1.6 ms against
# 0.46 ms for the median page's article, about a tenth of its call).
def _struct(s: Any, depth: int) -> Dict[str, Any]:
    return {k: _value(v, depth + 1) for k, v in s.fields.items()}


def _value(v: Any, depth: int) -> Any:
    if depth > MAX_VALUE_DEPTH:
        raise ValueError("google.protobuf.Value nested too deep")
    kind = v.WhichOneof("kind")
    if kind == "string_value":
        return v.string_value
    if kind == "number_value":
        n = v.number_value
        # Struct has only doubles; JSON's integers (word_count) come back
        # as int.
        return int(n) if n.is_integer() and abs(n) < 2**53 else n
    if kind == "struct_value":
        return _struct(v.struct_value, depth)
    if kind == "list_value":
        return [_value(x, depth + 1) for x in v.list_value.values]
    if kind == "bool_value":
        return v.bool_value
    return None  # null_value, or no kind


def article(res: Result) -> Article:
    a = res.result
    return Article(
        url=str(a.get("url", "")), title=str(a.get("title", "")), byline=str(a.get("byline", "")),
        published_time=str(a.get("published_time", "")), site_name=str(a.get("site_name", "")),
        description=str(a.get("description", "")), lang=str(a.get("lang", "")), dir=str(a.get("dir", "")),
        authors=[str(x) for x in a.get("authors") or []], categories=[str(x) for x in a.get("categories") or []],
        tags=[str(x) for x in a.get("tags") or []],
        text=str(a.get("text", "")), content_html=str(a.get("content_html", "")), markdown=str(a.get("markdown", "")),
        links=[Link(url=str(x.get("url", "")), text=str(x.get("text", ""))) for x in a.get("links") or []],
        media=[Media(type=str(x.get("type", "")), url=str(x.get("url", "")), alt=str(x.get("alt", ""))) for x in a.get("media") or []],
        word_count=int(a.get("word_count", 0)), reading_time_minutes=float(a.get("reading_time_minutes", 0.0)),
        quality_score=int(a.get("quality_score", 0)),
        selectors={str(k): [str(s) for s in v] for k, v in (a.get("selectors") or {}).items()},
        served=res.served,
    )


def event_kinds(kinds: Iterable[Union[str, int]]) -> List[Any]:
    """Event kinds by enum value or name, with or without EVENT_KIND_."""
    out: List[Any] = []
    for k in kinds:
        if isinstance(k, int):
            out.append(k)
            continue
        name = k.upper()
        if not name.startswith("EVENT_KIND_"):
            name = "EVENT_KIND_" + name
        out.append(pb.EventKind.Value(name))
    return out


def event_kind_name(ev: pb.PoolEvent) -> str:
    """The event's kind as its oneof name, e.g. "instance_checked_out"."""
    return ev.WhichOneof("kind") or ""


def addresses(target: str) -> List[str]:
    """The target's addresses, each as a target that reaches only it.

    grpcio does not tell which replica answered a call, and a lease lives
    on one replica, so a lease is checked out on a channel to one address
    chosen here and used on that channel."""
    if target.startswith("unix:") or target.startswith("unix-abstract:"):
        return [target]
    for scheme in ("ipv4:", "ipv6:"):
        if target.startswith(scheme):
            return [scheme + a for a in target[len(scheme):].split(",") if a]
    hostport = target
    if target.startswith("dns:"):
        hostport = target[len("dns:"):]
        if hostport.startswith("//"):
            hostport = hostport[2:].split("/", 1)[-1]
    elif "://" in target:
        return [target]
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        return [target]
    host = host.strip("[]")
    try:
        infos = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
    except OSError:
        return [target]
    out: List[str] = []
    for family, _, _, _, sa in infos:
        a = f"ipv6:[{sa[0]}]:{sa[1]}" if family == socket.AF_INET6 else f"ipv4:{sa[0]}:{sa[1]}"
        if a not in out:
            out.append(a)
    return out or [target]
