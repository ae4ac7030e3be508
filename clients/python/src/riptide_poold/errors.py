"""Exceptions for the daemon's error reasons (README, "Errors")."""

from __future__ import annotations

from typing import Dict, Optional, Type

import grpc

from riptide_poold._pb import rpc_status_pb2

ERROR_DOMAIN = "riptide.pool.v1"

_DETAILS_KEY = "grpc-status-details-bin"
_TYPE_PREFIX = "type.googleapis.com/google.rpc."


class RiptideError(Exception):
    """A failed call: the gRPC code and what the status details say.

    reason is the ErrorInfo reason ("" when the status carried none: a
    transport failure, the caller's deadline); field the invalid request
    field (BadRequest); retry_delay the seconds RetryInfo asks to wait
    (None when it did not say); attempts how many times the call was sent.
    """

    reason = ""

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        *,
        reason: str = "",
        pool: str = "",
        field: str = "",
        retry_delay: Optional[float] = None,
        metadata: Optional[Dict[str, str]] = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(f"{code.name} {reason}: {message}" if reason else f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.reason = reason
        self.pool = pool
        self.field = field
        self.retry_delay = retry_delay
        self.metadata = metadata or {}
        self.attempts = attempts


class InvalidRequest(RiptideError):
    """INVALID_ARGUMENT INVALID_REQUEST: field names what was wrong."""


class DocumentTooLarge(RiptideError):
    """RESOURCE_EXHAUSTED DOCUMENT_TOO_LARGE."""


class ResultTooLarge(RiptideError):
    """RESOURCE_EXHAUSTED RESULT_TOO_LARGE."""


class PoolExhausted(RiptideError):
    """RESOURCE_EXHAUSTED POOL_EXHAUSTED: retried; raised when retries end."""


class CircuitOpen(RiptideError):
    """UNAVAILABLE CIRCUIT_OPEN: retry_delay is the time until half-open."""


class CreationFailed(RiptideError):
    """UNAVAILABLE CREATION_FAILED."""


class MemoryLimitExceeded(RiptideError):
    """RESOURCE_EXHAUSTED MEMORY_LIMIT_EXCEEDED."""


class ExtractorFailed(RiptideError):
    """INTERNAL EXTRACTOR_FAILED: the module trapped or broke the ABI."""


class ExtractorTimeout(RiptideError):
    """DEADLINE_EXCEEDED EXTRACTOR_TIMEOUT: the module ran out of time."""


class LeaseNotFound(RiptideError):
    """NOT_FOUND LEASE_NOT_FOUND: unknown, released or expired lease."""


class LeaseMismatch(RiptideError):
    """FAILED_PRECONDITION LEASE_MISMATCH: the lease is of another pool."""


class ShuttingDown(RiptideError):
    """UNAVAILABLE SHUTTING_DOWN: the replica is draining; retried."""


class Unavailable(RiptideError):
    """UNAVAILABLE without a reason: no replica could be reached."""


class DeadlineExceeded(RiptideError):
    """The call's deadline passed (the caller's own, or the client's)."""


_BY_REASON: Dict[str, Type[RiptideError]] = {
    "INVALID_REQUEST": InvalidRequest,
    "DOCUMENT_TOO_LARGE": DocumentTooLarge,
    "RESULT_TOO_LARGE": ResultTooLarge,
    "POOL_EXHAUSTED": PoolExhausted,
    "CIRCUIT_OPEN": CircuitOpen,
    "CREATION_FAILED": CreationFailed,
    "MEMORY_LIMIT_EXCEEDED": MemoryLimitExceeded,
    "EXTRACTOR_FAILED": ExtractorFailed,
    "EXTRACTOR_TIMEOUT": ExtractorTimeout,
    "LEASE_NOT_FOUND": LeaseNotFound,
    "LEASE_MISMATCH": LeaseMismatch,
    "SHUTTING_DOWN": ShuttingDown,
}


def from_status(
    code: grpc.StatusCode,
    message: str,
    trailers: object,
    attempts: int = 1,
) -> RiptideError:
    """Builds the exception for a failed call from its code and trailers."""
    reason = pool = field = ""
    retry_delay: Optional[float] = None
    metadata: Dict[str, str] = {}
    for key, value in _pairs(trailers):
        if key != _DETAILS_KEY or not isinstance(value, bytes):
            continue
        try:
            st = rpc_status_pb2.Status.FromString(value)
        except Exception:  # a malformed trailer is no reason to lose the error
            continue
        for any_ in st.details:
            name = any_.type_url[len(_TYPE_PREFIX):] if any_.type_url.startswith(_TYPE_PREFIX) else ""
            try:
                if name == "ErrorInfo":
                    info = rpc_status_pb2.ErrorInfo.FromString(any_.value)
                    if info.domain == ERROR_DOMAIN:
                        reason = info.reason
                        metadata = dict(info.metadata)
                        pool = metadata.get("pool", "")
                        field = field or metadata.get("field", "")
                elif name == "BadRequest":
                    br = rpc_status_pb2.BadRequest.FromString(any_.value)
                    if br.field_violations:
                        field = br.field_violations[0].field
                elif name == "RetryInfo":
                    ri = rpc_status_pb2.RetryInfo.FromString(any_.value)
                    retry_delay = ri.retry_delay.ToTimedelta().total_seconds()
            except Exception:
                continue
    cls = _BY_REASON.get(reason)
    if cls is None:
        if code == grpc.StatusCode.UNAVAILABLE:
            cls = Unavailable
        elif code == grpc.StatusCode.DEADLINE_EXCEEDED:
            cls = DeadlineExceeded
        else:
            cls = RiptideError
    return cls(
        code, message, reason=reason, pool=pool, field=field,
        retry_delay=retry_delay, metadata=metadata, attempts=attempts,
    )


def _pairs(trailers: object) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    if not trailers:
        return out
    for item in trailers:  # type: ignore[attr-defined]
        try:
            key, value = item
        except (TypeError, ValueError):
            key, value = getattr(item, "key", ""), getattr(item, "value", b"")
        out.append((str(key), value))
    return out
