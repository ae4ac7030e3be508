"""Client of riptide-poold, the gRPC extraction daemon.

    from riptide_poold import Client
    with Client("127.0.0.1:50051") as c:
        print(c.css(html, "a", attribute="href", all=True).values)

Client is sync; AsyncClient (riptide_poold.aio) is the same on asyncio.
docs/CLIENTS.md at the repository root describes both.
"""

from riptide_poold.aio import AsyncClient, AsyncLease
from riptide_poold.client import Client, Lease
from riptide_poold.errors import (
    CircuitOpen, CreationFailed, DeadlineExceeded, DocumentTooLarge, ExtractorFailed, ExtractorTimeout,
    InvalidRequest, LeaseMismatch, LeaseNotFound, MemoryLimitExceeded, PoolExhausted, ResultTooLarge,
    RiptideError, ShuttingDown, Unavailable,
)
from riptide_poold.types import (
    Article, Css, FieldResult, Fields, Limits, Link, Match, Matches, Media, Regex, Result, Served, Structured, Values,
    XPath,
)

__all__ = [
    "AsyncClient", "AsyncLease", "Client", "Lease",
    "CircuitOpen", "CreationFailed", "DeadlineExceeded", "DocumentTooLarge", "ExtractorFailed",
    "ExtractorTimeout", "InvalidRequest", "LeaseMismatch", "LeaseNotFound", "MemoryLimitExceeded",
    "PoolExhausted", "ResultTooLarge", "RiptideError", "ShuttingDown", "Unavailable",
    "Article", "Css", "FieldResult", "Fields", "Limits", "Link", "Match", "Matches", "Media", "Regex",
    "Result", "Served", "Structured", "Values", "XPath",
]
