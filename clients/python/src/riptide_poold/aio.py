"""The asyncio client: the sync client's behaviour on grpc.aio."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any, AsyncIterator, Iterable, Mapping, Optional, Sequence, Tuple, Union

import grpc
import grpc.aio

from riptide_poold import _core
from riptide_poold._core import Document
from riptide_poold._pb import pool_pb2 as pb
from riptide_poold._pb import pool_pb2_grpc as pb_grpc
from riptide_poold.errors import RiptideError, from_status
from riptide_poold.types import Article, Css, Fields, Limits, Matches, Regex, Result, Structured, Values, XPath

RELEASE_TIMEOUT = 5.0
MAX_RESUBSCRIBES = 5


async def _error(e: grpc.aio.AioRpcError, attempts: int) -> RiptideError:
    return from_status(e.code(), e.details() or "", e.trailing_metadata(), attempts)


class _Caller:
    def __init__(self, channel: grpc.aio.Channel, client: "AsyncClient") -> None:
        self.channel = channel
        self.stub = pb_grpc.PoolServiceStub(channel)  # type: ignore[no-untyped-call]
        self.client = client

    async def call(self, method: str, req: Any, cls: int, timeout: Optional[float] = None,
                   wait_for_ready: bool = False) -> Any:
        c = self.client
        deadline = time.monotonic() + (timeout if timeout is not None else c.timeout)
        n = 0
        while True:
            n += 1
            try:
                return await getattr(self.stub, method)(req, timeout=max(deadline - time.monotonic(), 0.0),
                                                        wait_for_ready=wait_for_ready)
            except grpc.aio.AioRpcError as e:
                err = await _error(e, n)
                delay = _core.next_delay(err, cls, n, c.max_attempts, c.max_retry_delay, deadline - time.monotonic())
                if delay is None:
                    raise err from None
                await asyncio.sleep(delay)

    async def extract(self, req: pb.ExtractRequest, lease_id: str, timeout: Optional[float]) -> pb.ExtractResponse:
        if lease_id:
            req.lease_id = lease_id
        return await self.call("Extract", req, _core.NEVER if lease_id else _core.IDEMPOTENT, timeout)  # type: ignore[no-any-return]


class _Extractor:
    _caller: _Caller
    _lease_id = ""

    def _limits(self) -> Optional[Limits]:
        return self._caller.client.limits

    async def css(self, doc: Document, selector: Union[str, Css], *, attribute: str = "", output: str = "text",
                  all: bool = False, limit: int = 0, absolute_urls: bool = False, url: str = "", content_type: str = "",
                  timeout: Optional[float] = None) -> Values:
        q = selector if isinstance(selector, Css) else Css(selector, attribute, output, all, limit, absolute_urls)
        req = _core.request(doc, url, content_type, self._limits())
        req.css.CopyFrom(_core.css_spec(q))
        return _core.values(await self._caller.extract(req, self._lease_id, timeout))

    async def xpath(self, doc: Document, expression: Union[str, XPath], *, attribute: str = "", output: str = "text",
              all: bool = False, limit: int = 0, absolute_urls: bool = False, url: str = "", content_type: str = "",
              timeout: Optional[float] = None) -> Values:
        """An XPath 1.0 question: a node set's texts, or what the expression
        answers (values[0], and xpath_type, number, boolean)."""
        q = expression if isinstance(expression, XPath) else XPath(expression, attribute, output, all, limit, absolute_urls)
        req = _core.request(doc, url, content_type, self._limits())
        req.xpath.CopyFrom(_core.xpath_spec(q))
        return _core.values(await self._caller.extract(req, self._lease_id, timeout))

    async def structured(self, doc: Document, *, syntaxes: Sequence[str] = (), flatten_graph: bool = False,
                   url: str = "", content_type: str = "", timeout: Optional[float] = None) -> Result:
        """The page's structured data (JSON-LD, microdata, OpenGraph, RDFa, microformats, Twitter
        cards, meta tags), shaped as extruct answers."""
        req = _core.request(doc, url, content_type, self._limits())
        req.structured.CopyFrom(pb.StructuredSpec(syntaxes=list(syntaxes), flatten_graph=flatten_graph))
        return _core.result(await self._caller.extract(req, self._lease_id, timeout))

    async def regex(self, doc: Document, pattern: Union[str, Regex], *, all: bool = False, limit: int = 0,
                    source: str = "text", url: str = "", content_type: str = "",
                    timeout: Optional[float] = None) -> Matches:
        q = pattern if isinstance(pattern, Regex) else Regex(pattern, all, limit, source)
        req = _core.request(doc, url, content_type, self._limits())
        req.regex.CopyFrom(_core.regex_spec(q))
        return _core.matches(await self._caller.extract(req, self._lease_id, timeout))

    async def fields(self, doc: Document, fields: Mapping[str, Union[Css, XPath, Regex, Structured]], *, url: str = "",
                     content_type: str = "", timeout: Optional[float] = None) -> Fields:
        req = _core.request(doc, url, content_type, self._limits())
        req.fields.CopyFrom(_core.fields_spec(fields))
        return _core.fields(await self._caller.extract(req, self._lease_id, timeout))

    async def wasm(self, doc: Document, *, module: str = "article", mode: str = "", selectors: Sequence[str] = (),
                   url: str = "", content_type: str = "", timeout: Optional[float] = None) -> Result:
        req = _core.request(doc, url, content_type, self._limits())
        req.wasm.CopyFrom(_core.wasm_spec(module, mode, selectors))
        return _core.result(await self._caller.extract(req, self._lease_id, timeout))

    async def article(self, doc: Document, *, mode: str = "article", selectors: Sequence[str] = (), url: str = "",
                      content_type: str = "", timeout: Optional[float] = None) -> Article:
        return _core.article(await self.wasm(doc, module="article", mode=mode, selectors=selectors, url=url,
                                             content_type=content_type, timeout=timeout))


class AsyncClient(_Extractor):
    """Client (riptide_poold.client) on asyncio. Create it with
    `await AsyncClient.connect(target)`, or `async with
    AsyncClient.connect(target) as c`; the behaviour is the same."""

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

    @classmethod
    def connect(cls, target: str, **kwargs: Any) -> "_Connecting":
        """Waits for a replica, reads the limits and answers the client."""
        return _Connecting(cls(target, **kwargs))

    async def _start(self) -> "AsyncClient":
        boot = self._channel(self.target)
        try:
            resp = await _Caller(boot, self).call("ListExtractors", pb.ListExtractorsRequest(), _core.IDEMPOTENT,
                                                  wait_for_ready=True)
        finally:
            await boot.close()
        self.limits = _core.limits_from(resp)
        self._caller = _Caller(self._channel(self.target), self)
        return self

    def _channel(self, target: str) -> grpc.aio.Channel:
        opts = _core.channel_options(self.limits) + self._options
        if self._credentials is not None:
            return grpc.aio.secure_channel(target, self._credentials, options=opts)
        return grpc.aio.insecure_channel(target, options=opts)

    async def close(self) -> None:
        await self._caller.channel.close()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def health(self, timeout: Optional[float] = None) -> pb.HealthResponse:
        return await self._caller.call("Health", pb.HealthRequest(), _core.IDEMPOTENT, timeout)  # type: ignore[no-any-return]

    async def get_metrics(self, *pools: str, timeout: Optional[float] = None) -> pb.GetMetricsResponse:
        return await self._caller.call("GetMetrics", pb.GetMetricsRequest(pools=list(pools)),  # type: ignore[no-any-return]
                                       _core.IDEMPOTENT, timeout)

    async def list_extractors(self, timeout: Optional[float] = None) -> pb.ListExtractorsResponse:
        return await self._caller.call("ListExtractors", pb.ListExtractorsRequest(),  # type: ignore[no-any-return]
                                       _core.IDEMPOTENT, timeout)

    def lease(self, pool: str, ttl: Optional[float] = None, timeout: Optional[float] = None) -> "_Leasing":
        """`async with client.lease("css") as lease:` checks out an instance
        and releases it on exit; `await client.lease(...)` answers it."""
        return _Leasing(self, pool, ttl, timeout)

    async def events(self, *, kinds: Iterable[Union[str, int]] = (), pools: Iterable[str] = (),
                     buffer_size: int = 0, timeout: Optional[float] = None) -> AsyncIterator[pb.PoolEvent]:
        """Pool events as an async iterator; see Client.events."""
        req = pb.PoolEventsRequest(kinds=_core.event_kinds(kinds), pools=list(pools), buffer_size=buffer_size)
        end = None if timeout is None else time.monotonic() + timeout
        failures = 0
        while True:
            remaining = None if end is None else max(end - time.monotonic(), 0.0)
            stream = self._caller.stub.PoolEvents(req, timeout=remaining)
            try:
                async for resp in stream:
                    failures = 0
                    yield resp.event
                return
            except grpc.aio.AioRpcError as e:
                failures += 1
                err = await _error(e, failures)
                if err.code == grpc.StatusCode.DEADLINE_EXCEEDED and end is not None:
                    return  # the subscription's own timeout: the iteration ends
                if err.code != grpc.StatusCode.UNAVAILABLE or failures > MAX_RESUBSCRIBES:
                    raise err from None
                await asyncio.sleep(_core.backoff(failures))
            finally:
                stream.cancel()


class _Connecting:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    def __await__(self) -> Any:
        return self._client._start().__await__()

    async def __aenter__(self) -> AsyncClient:
        return await self._client._start()

    async def __aexit__(self, *exc: object) -> None:
        await self._client.close()


class AsyncLease(_Extractor):
    """A lease on asyncio; see riptide_poold.client.Lease."""

    def __init__(self, client: AsyncClient, lease: pb.Lease, caller: _Caller) -> None:
        self.id = lease.lease_id
        self.pool = lease.pool
        self.instance_id = lease.instance_id
        self.expires_at = lease.expires_at.ToDatetime()
        self._caller = caller
        self._lease_id = self.id
        self._closed = False

    async def renew(self, ttl: Optional[float] = None, timeout: Optional[float] = None) -> None:
        req = pb.RenewLeaseRequest(lease_id=self.id)
        if ttl is not None:
            req.ttl.FromNanoseconds(int(ttl * 1e9))
        resp = await self._caller.call("RenewLease", req, _core.NEVER, timeout)
        self.expires_at = resp.lease.expires_at.ToDatetime()

    async def release(self, discard: bool = False, timeout: float = RELEASE_TIMEOUT) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._caller.call("ReleaseLease", pb.ReleaseLeaseRequest(lease_id=self.id, discard=discard),
                                    _core.NEVER, timeout)
        finally:
            await self._caller.channel.close()

    close = release

    async def __aenter__(self) -> "AsyncLease":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.release()


class _Leasing:
    def __init__(self, client: AsyncClient, pool: str, ttl: Optional[float], timeout: Optional[float]) -> None:
        self._client, self._pool, self._ttl, self._timeout = client, pool, ttl, timeout
        self._lease: Optional[AsyncLease] = None

    async def _checkout(self) -> AsyncLease:
        req = pb.CheckoutRequest(pool=self._pool)
        if self._ttl is not None:
            req.ttl.FromNanoseconds(int(self._ttl * 1e9))
        client = self._client
        addrs = _core.addresses(client.target)
        deadline = time.monotonic() + (self._timeout if self._timeout is not None else client.timeout)
        n = 0
        while True:
            addr = addrs[next(client._lease_turn) % len(addrs)]
            n += 1
            c = _Caller(client._channel(addr), client)
            try:
                resp = await c.stub.Checkout(req, timeout=max(deadline - time.monotonic(), 0.0))
                return AsyncLease(client, resp.lease, c)
            except grpc.aio.AioRpcError as e:
                await c.channel.close()
                err = await _error(e, n)
                delay = _core.next_delay(err, _core.REFUSED, n, client.max_attempts, client.max_retry_delay,
                                         deadline - time.monotonic())
                if delay is None:
                    raise err from None
                await asyncio.sleep(delay)

    def __await__(self) -> Any:
        return self._checkout().__await__()

    async def __aenter__(self) -> AsyncLease:
        self._lease = await self._checkout()
        return self._lease

    async def __aexit__(self, *exc: object) -> None:
        if self._lease is not None:
            await self._lease.release()
