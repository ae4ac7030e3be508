"""The sync client."""

from __future__ import annotations

import itertools
import time
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence, Tuple, Union

import grpc
from google.protobuf import duration_pb2

from riptide_poold import _core
from riptide_poold._core import Document
from riptide_poold._pb import pool_pb2 as pb
from riptide_poold._pb import pool_pb2_grpc as pb_grpc
from riptide_poold.errors import RiptideError, from_status
from riptide_poold.types import Article, Css, Fields, Limits, Matches, Regex, Result, Structured, Values, XPath

# A deferred release never hangs on a daemon that went away.
RELEASE_TIMEOUT = 5.0
# How many times in a row events() reopens a stream that ended UNAVAILABLE
# without delivering an event.
MAX_RESUBSCRIBES = 5


def _error(e: grpc.RpcError, attempts: int) -> RiptideError:
    return from_status(e.code(), e.details() or "", e.trailing_metadata(), attempts)


def _duration(seconds: float) -> duration_pb2.Duration:
    d = duration_pb2.Duration()
    d.FromNanoseconds(int(seconds * 1e9))
    return d


class _Caller:
    """Runs calls on one channel with deadlines, limits and retries."""

    def __init__(self, channel: grpc.Channel, client: "Client") -> None:
        self.channel = channel
        self.stub = pb_grpc.PoolServiceStub(channel)  # type: ignore[no-untyped-call]
        self.client = client

    def call(self, method: str, req: Any, cls: int, timeout: Optional[float] = None,
             wait_for_ready: bool = False) -> Any:
        c = self.client
        deadline = time.monotonic() + (timeout if timeout is not None else c.timeout)
        n = 0
        while True:
            n += 1
            try:
                return getattr(self.stub, method)(req, timeout=max(deadline - time.monotonic(), 0.0),
                                                  wait_for_ready=wait_for_ready)
            except grpc.RpcError as e:
                err = _error(e, n)
                delay = _core.next_delay(err, cls, n, c.max_attempts, c.max_retry_delay, deadline - time.monotonic())
                if delay is None:
                    raise err from None
                time.sleep(delay)

    def extract(self, req: pb.ExtractRequest, lease_id: str, timeout: Optional[float]) -> pb.ExtractResponse:
        if lease_id:
            req.lease_id = lease_id
        return self.call("Extract", req, _core.NEVER if lease_id else _core.IDEMPOTENT, timeout)  # type: ignore[no-any-return]


class _Extractor:
    """The extraction helpers, on a pool (Client) or a lease (Lease)."""

    _caller: _Caller
    _lease_id = ""

    def _limits(self) -> Optional[Limits]:
        return self._caller.client.limits

    def css(self, doc: Document, selector: Union[str, Css], *, attribute: str = "", output: str = "text",
            all: bool = False, limit: int = 0, absolute_urls: bool = False, url: str = "", content_type: str = "",
            timeout: Optional[float] = None) -> Values:
        """The text (or output, or attribute) of the first match of
        selector in doc, or of every match when all."""
        q = selector if isinstance(selector, Css) else Css(selector, attribute, output, all, limit, absolute_urls)
        req = _core.request(doc, url, content_type, self._limits())
        req.css.CopyFrom(_core.css_spec(q))
        return _core.values(self._caller.extract(req, self._lease_id, timeout))

    def xpath(self, doc: Document, expression: Union[str, XPath], *, attribute: str = "", output: str = "text",
              all: bool = False, limit: int = 0, absolute_urls: bool = False, url: str = "", content_type: str = "",
              timeout: Optional[float] = None) -> Values:
        """An XPath 1.0 question: a node set's texts, or what the expression
        answers (values[0], and xpath_type, number, boolean)."""
        q = expression if isinstance(expression, XPath) else XPath(expression, attribute, output, all, limit, absolute_urls)
        req = _core.request(doc, url, content_type, self._limits())
        req.xpath.CopyFrom(_core.xpath_spec(q))
        return _core.values(self._caller.extract(req, self._lease_id, timeout))

    def structured(self, doc: Document, *, syntaxes: Sequence[str] = (), flatten_graph: bool = False,
                   url: str = "", content_type: str = "", timeout: Optional[float] = None) -> Result:
        """The page's structured data (JSON-LD, microdata, OpenGraph, RDFa, microformats, Twitter
        cards, meta tags), shaped as extruct answers."""
        req = _core.request(doc, url, content_type, self._limits())
        req.structured.CopyFrom(pb.StructuredSpec(syntaxes=list(syntaxes), flatten_graph=flatten_graph))
        return _core.result(self._caller.extract(req, self._lease_id, timeout))

    def regex(self, doc: Document, pattern: Union[str, Regex], *, all: bool = False, limit: int = 0,
              source: str = "text", url: str = "", content_type: str = "",
              timeout: Optional[float] = None) -> Matches:
        """Matches of a Go RE2 pattern in doc's visible text (source="html":
        in its markup)."""
        q = pattern if isinstance(pattern, Regex) else Regex(pattern, all, limit, source)
        req = _core.request(doc, url, content_type, self._limits())
        req.regex.CopyFrom(_core.regex_spec(q))
        return _core.matches(self._caller.extract(req, self._lease_id, timeout))

    def fields(self, doc: Document, fields: Mapping[str, Union[Css, XPath, Regex, Structured]], *, url: str = "",
               content_type: str = "", timeout: Optional[float] = None) -> Fields:
        """Several named Css, XPath, Regex or Structured questions answered
        from one parse."""
        req = _core.request(doc, url, content_type, self._limits())
        req.fields.CopyFrom(_core.fields_spec(fields))
        return _core.fields(self._caller.extract(req, self._lease_id, timeout))

    def wasm(self, doc: Document, *, module: str = "article", mode: str = "", selectors: Sequence[str] = (),
             url: str = "", content_type: str = "", timeout: Optional[float] = None) -> Result:
        """A WebAssembly module's extraction: its JSON object."""
        req = _core.request(doc, url, content_type, self._limits())
        req.wasm.CopyFrom(_core.wasm_spec(module, mode, selectors))
        return _core.result(self._caller.extract(req, self._lease_id, timeout))

    def article(self, doc: Document, *, mode: str = "article", selectors: Sequence[str] = (), url: str = "",
                content_type: str = "", timeout: Optional[float] = None) -> Article:
        """The bundled article module's result, typed."""
        return _core.article(self.wasm(doc, module="article", mode=mode, selectors=selectors, url=url,
                                       content_type=content_type, timeout=timeout))


class Client(_Extractor):
    """A client of one daemon or a fleet: any gRPC target ("host:port",
    "dns:///name:50051", "ipv4:10.0.0.1:50051,10.0.0.2:50051",
    "unix:///run/riptide/poold.sock"), calls round-robin over its
    addresses. The constructor waits (up to timeout) for a replica and
    reads the daemon's limits, which size the channel's messages.

    Every call has a deadline (timeout=, else the client's). Idempotent
    calls are retried on UNAVAILABLE and POOL_EXHAUSTED, waiting what
    RetryInfo says (else a short backoff), at most max_attempts times,
    never past the deadline nor past max_retry_delay per wait.
    """

    def __init__(self, target: str, *, timeout: float = _core.DEFAULT_TIMEOUT,
                 max_attempts: int = _core.DEFAULT_MAX_ATTEMPTS,
                 max_retry_delay: float = _core.DEFAULT_MAX_RETRY_DELAY,
                 credentials: Optional[grpc.ChannelCredentials] = None,
                 options: Sequence[Tuple[str, Any]] = ()) -> None:
        self.target = target
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.max_retry_delay = max_retry_delay
        self._credentials = credentials
        self._options = list(options)
        self.limits: Optional[Limits] = None
        self._lease_turn = itertools.count()
        boot = self._channel(target)
        try:
            resp = _Caller(boot, self).call("ListExtractors", pb.ListExtractorsRequest(), _core.IDEMPOTENT,
                                            wait_for_ready=True)
        finally:
            boot.close()
        self.limits = _core.limits_from(resp)
        self._caller = _Caller(self._channel(target), self)

    def _channel(self, target: str) -> grpc.Channel:
        opts = _core.channel_options(self.limits) + self._options
        if self._credentials is not None:
            return grpc.secure_channel(target, self._credentials, options=opts)
        return grpc.insecure_channel(target, options=opts)

    def close(self) -> None:
        self._caller.channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def stub(self) -> pb_grpc.PoolServiceStub:
        """The generated stub on the same channel, without the client's
        deadlines or retries."""
        return self._caller.stub

    def health(self, timeout: Optional[float] = None) -> pb.HealthResponse:
        return self._caller.call("Health", pb.HealthRequest(), _core.IDEMPOTENT, timeout)  # type: ignore[no-any-return]

    def get_metrics(self, *pools: str, timeout: Optional[float] = None) -> pb.GetMetricsResponse:
        return self._caller.call("GetMetrics", pb.GetMetricsRequest(pools=list(pools)),  # type: ignore[no-any-return]
                                 _core.IDEMPOTENT, timeout)

    def list_extractors(self, timeout: Optional[float] = None) -> pb.ListExtractorsResponse:
        return self._caller.call("ListExtractors", pb.ListExtractorsRequest(),  # type: ignore[no-any-return]
                                 _core.IDEMPOTENT, timeout)

    def force_gc(self, timeout: Optional[float] = None) -> pb.ForceGCResponse:
        return self._caller.call("ForceGC", pb.ForceGCRequest(), _core.IDEMPOTENT, timeout)  # type: ignore[no-any-return]

    def lease(self, pool: str, ttl: Optional[float] = None, timeout: Optional[float] = None) -> "Lease":
        """Checks out an instance of pool for ttl seconds (None: the daemon's
        default). Use it as a context manager: it is released on exit."""
        req = pb.CheckoutRequest(pool=pool)
        if ttl is not None:
            req.ttl.CopyFrom(_duration(ttl))
        addrs = _core.addresses(self.target)
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        n = 0
        while True:
            # Each attempt on the next address, as round-robin would.
            addr = addrs[next(self._lease_turn) % len(addrs)]
            n += 1
            c = _Caller(self._channel(addr), self)
            try:
                resp = c.stub.Checkout(req, timeout=max(deadline - time.monotonic(), 0.0))
                return Lease(self, resp.lease, c)
            except grpc.RpcError as e:
                c.channel.close()
                err = _error(e, n)
                delay = _core.next_delay(err, _core.REFUSED, n, self.max_attempts, self.max_retry_delay,
                                         deadline - time.monotonic())
                if delay is None:
                    raise err from None
                time.sleep(delay)

    def events(self, *, kinds: Iterable[Union[str, int]] = (), pools: Iterable[str] = (),
               buffer_size: int = 0, timeout: Optional[float] = None) -> Iterator[pb.PoolEvent]:
        """Pool events of one replica, until timeout (None: no end; its end
        ends the iteration) or the
        caller stops iterating. A stream ended UNAVAILABLE (a connection's
        max age, a replica gone) is reopened on the next replica; events in
        between are not seen."""
        req = pb.PoolEventsRequest(kinds=_core.event_kinds(kinds), pools=list(pools), buffer_size=buffer_size)
        end = None if timeout is None else time.monotonic() + timeout
        failures = 0
        while True:
            remaining = None if end is None else max(end - time.monotonic(), 0.0)
            stream = self._caller.stub.PoolEvents(req, timeout=remaining)
            try:
                for resp in stream:
                    failures = 0
                    yield resp.event
                return  # the daemon ended the stream: it is draining
            except grpc.RpcError as e:
                err = _error(e, failures + 1)
                failures += 1
                if err.code == grpc.StatusCode.DEADLINE_EXCEEDED and end is not None:
                    return  # the subscription's own timeout: the iteration ends
                if err.code != grpc.StatusCode.UNAVAILABLE or failures > MAX_RESUBSCRIBES:
                    raise err from None
                time.sleep(_core.backoff(failures))
            finally:
                stream.cancel()


class Lease(_Extractor):
    """An instance out of its pool for this caller. Its calls go to the
    daemon that granted it, on a channel of their own, and are not retried.
    As a context manager it is released on exit."""

    def __init__(self, client: Client, lease: pb.Lease, caller: _Caller) -> None:
        self.id = lease.lease_id
        self.pool = lease.pool
        self.instance_id = lease.instance_id
        self.expires_at = lease.expires_at.ToDatetime()
        self._caller = caller
        self._lease_id = self.id
        self._closed = False

    def renew(self, ttl: Optional[float] = None, timeout: Optional[float] = None) -> None:
        req = pb.RenewLeaseRequest(lease_id=self.id)
        if ttl is not None:
            req.ttl.CopyFrom(_duration(ttl))
        resp = self._caller.call("RenewLease", req, _core.NEVER, timeout)
        self.expires_at = resp.lease.expires_at.ToDatetime()

    def release(self, discard: bool = False, timeout: float = RELEASE_TIMEOUT) -> None:
        """Returns the instance (or discards it); only the first call acts."""
        if self._closed:
            return
        self._closed = True
        try:
            self._caller.call("ReleaseLease", pb.ReleaseLeaseRequest(lease_id=self.id, discard=discard),
                              _core.NEVER, timeout)
        finally:
            self._caller.channel.close()

    close = release

    def __enter__(self) -> "Lease":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
