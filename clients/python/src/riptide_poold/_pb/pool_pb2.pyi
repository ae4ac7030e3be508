from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

BREAKER_STATE_CLOSED: BreakerState
BREAKER_STATE_HALF_OPEN: BreakerState
BREAKER_STATE_OPEN: BreakerState
BREAKER_STATE_UNSPECIFIED: BreakerState
CSS_OUTPUT_INNER_HTML: CssOutput
CSS_OUTPUT_OUTER_HTML: CssOutput
CSS_OUTPUT_TEXT: CssOutput
CSS_OUTPUT_UNSPECIFIED: CssOutput
DESCRIPTOR: _descriptor.FileDescriptor
EVENT_KIND_CIRCUIT_STATE_CHANGED: EventKind
EVENT_KIND_EVENTS_DROPPED: EventKind
EVENT_KIND_GC_COMPLETED: EventKind
EVENT_KIND_HEALTH_CHECK_FAILED: EventKind
EVENT_KIND_INSTANCE_CHECKED_OUT: EventKind
EVENT_KIND_INSTANCE_CREATED: EventKind
EVENT_KIND_INSTANCE_DESTROYED: EventKind
EVENT_KIND_INSTANCE_RETURNED: EventKind
EVENT_KIND_LEASE_EXPIRED: EventKind
EVENT_KIND_MEMORY_PRESSURE: EventKind
EVENT_KIND_MODULE_LOADED: EventKind
EVENT_KIND_POOL_CONDITION: EventKind
EVENT_KIND_POOL_EXHAUSTED: EventKind
EVENT_KIND_UNSPECIFIED: EventKind
EXTRACTOR_ENGINE_NATIVE: ExtractorEngine
EXTRACTOR_ENGINE_UNSPECIFIED: ExtractorEngine
EXTRACTOR_ENGINE_WASM: ExtractorEngine
EXTRACTOR_KIND_CSS: ExtractorKind
EXTRACTOR_KIND_REGEX: ExtractorKind
EXTRACTOR_KIND_UNSPECIFIED: ExtractorKind
EXTRACTOR_KIND_WASM: ExtractorKind
HEALTH_LEVEL_CRITICAL: HealthLevel
HEALTH_LEVEL_DEGRADED: HealthLevel
HEALTH_LEVEL_HEALTHY: HealthLevel
HEALTH_LEVEL_UNHEALTHY: HealthLevel
HEALTH_LEVEL_UNSPECIFIED: HealthLevel
MEMORY_PRESSURE_LEVEL_CRITICAL: MemoryPressureLevel
MEMORY_PRESSURE_LEVEL_HIGH: MemoryPressureLevel
MEMORY_PRESSURE_LEVEL_NORMAL: MemoryPressureLevel
MEMORY_PRESSURE_LEVEL_UNSPECIFIED: MemoryPressureLevel
REGEX_SOURCE_HTML: RegexSource
REGEX_SOURCE_TEXT: RegexSource
REGEX_SOURCE_UNSPECIFIED: RegexSource
XPATH_RESULT_TYPE_BOOLEAN: XpathResultType
XPATH_RESULT_TYPE_NODE_SET: XpathResultType
XPATH_RESULT_TYPE_NUMBER: XpathResultType
XPATH_RESULT_TYPE_STRING: XpathResultType
XPATH_RESULT_TYPE_UNSPECIFIED: XpathResultType

class CheckoutRequest(_message.Message):
    __slots__ = ["pool", "ttl"]
    POOL_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    pool: str
    ttl: _duration_pb2.Duration
    def __init__(self, pool: _Optional[str] = ..., ttl: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class CheckoutResponse(_message.Message):
    __slots__ = ["lease"]
    LEASE_FIELD_NUMBER: _ClassVar[int]
    lease: Lease
    def __init__(self, lease: _Optional[_Union[Lease, _Mapping]] = ...) -> None: ...

class CircuitStateChanged(_message.Message):
    __slots__ = ["to"]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    to: BreakerState
    def __init__(self, to: _Optional[_Union[BreakerState, str]] = ..., **kwargs) -> None: ...

class CreationBackoff(_message.Message):
    __slots__ = ["active", "consecutive_failures", "delay", "first_delay", "max_delay", "next_retry"]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    CONSECUTIVE_FAILURES_FIELD_NUMBER: _ClassVar[int]
    DELAY_FIELD_NUMBER: _ClassVar[int]
    FIRST_DELAY_FIELD_NUMBER: _ClassVar[int]
    MAX_DELAY_FIELD_NUMBER: _ClassVar[int]
    NEXT_RETRY_FIELD_NUMBER: _ClassVar[int]
    active: bool
    consecutive_failures: int
    delay: _duration_pb2.Duration
    first_delay: _duration_pb2.Duration
    max_delay: _duration_pb2.Duration
    next_retry: _timestamp_pb2.Timestamp
    def __init__(self, active: bool = ..., delay: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., next_retry: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., consecutive_failures: _Optional[int] = ..., first_delay: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., max_delay: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class CssSpec(_message.Message):
    __slots__ = ["absolute_urls", "all", "attribute", "limit", "output", "selector"]
    ABSOLUTE_URLS_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    SELECTOR_FIELD_NUMBER: _ClassVar[int]
    absolute_urls: bool
    all: bool
    attribute: str
    limit: int
    output: CssOutput
    selector: str
    def __init__(self, selector: _Optional[str] = ..., attribute: _Optional[str] = ..., output: _Optional[_Union[CssOutput, str]] = ..., all: bool = ..., limit: _Optional[int] = ..., absolute_urls: bool = ...) -> None: ...

class EventsDropped(_message.Message):
    __slots__ = ["count"]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    count: int
    def __init__(self, count: _Optional[int] = ...) -> None: ...

class ExtractRequest(_message.Message):
    __slots__ = ["content_type", "css", "fields", "html", "lease_id", "raw_html", "regex", "structured", "url", "wasm", "xpath"]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CSS_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    HTML_FIELD_NUMBER: _ClassVar[int]
    LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    RAW_HTML_FIELD_NUMBER: _ClassVar[int]
    REGEX_FIELD_NUMBER: _ClassVar[int]
    STRUCTURED_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    WASM_FIELD_NUMBER: _ClassVar[int]
    XPATH_FIELD_NUMBER: _ClassVar[int]
    content_type: str
    css: CssSpec
    fields: FieldsSpec
    html: str
    lease_id: str
    raw_html: bytes
    regex: RegexSpec
    structured: StructuredSpec
    url: str
    wasm: WasmSpec
    xpath: XpathSpec
    def __init__(self, html: _Optional[str] = ..., raw_html: _Optional[bytes] = ..., content_type: _Optional[str] = ..., url: _Optional[str] = ..., css: _Optional[_Union[CssSpec, _Mapping]] = ..., regex: _Optional[_Union[RegexSpec, _Mapping]] = ..., fields: _Optional[_Union[FieldsSpec, _Mapping]] = ..., wasm: _Optional[_Union[WasmSpec, _Mapping]] = ..., xpath: _Optional[_Union[XpathSpec, _Mapping]] = ..., structured: _Optional[_Union[StructuredSpec, _Mapping]] = ..., lease_id: _Optional[str] = ...) -> None: ...

class ExtractResponse(_message.Message):
    __slots__ = ["fallback", "fields", "instance_id", "matches", "pool", "result", "timing", "truncated", "unresolved_urls", "values", "xpath"]
    class FieldsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: FieldResult
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[FieldResult, _Mapping]] = ...) -> None: ...
    FALLBACK_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    TIMING_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    UNRESOLVED_URLS_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    XPATH_FIELD_NUMBER: _ClassVar[int]
    fallback: bool
    fields: _containers.MessageMap[str, FieldResult]
    instance_id: str
    matches: _containers.RepeatedCompositeFieldContainer[RegexMatch]
    pool: str
    result: _struct_pb2.Struct
    timing: Timing
    truncated: bool
    unresolved_urls: int
    values: _containers.RepeatedScalarFieldContainer[str]
    xpath: XpathResult
    def __init__(self, values: _Optional[_Iterable[str]] = ..., matches: _Optional[_Iterable[_Union[RegexMatch, _Mapping]]] = ..., fields: _Optional[_Mapping[str, FieldResult]] = ..., result: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., pool: _Optional[str] = ..., instance_id: _Optional[str] = ..., timing: _Optional[_Union[Timing, _Mapping]] = ..., fallback: bool = ..., truncated: bool = ..., xpath: _Optional[_Union[XpathResult, _Mapping]] = ..., unresolved_urls: _Optional[int] = ...) -> None: ...

class Extractor(_message.Message):
    __slots__ = ["abi_version", "creation_backoff", "engine", "extract_timeout", "instance_memory_limit_mb", "kind", "max_document_bytes", "max_instances", "min_instances", "modes", "module_limits", "pool", "sha256", "specs", "trusted"]
    ABI_VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATION_BACKOFF_FIELD_NUMBER: _ClassVar[int]
    ENGINE_FIELD_NUMBER: _ClassVar[int]
    EXTRACT_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_MEMORY_LIMIT_MB_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MAX_DOCUMENT_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_INSTANCES_FIELD_NUMBER: _ClassVar[int]
    MIN_INSTANCES_FIELD_NUMBER: _ClassVar[int]
    MODES_FIELD_NUMBER: _ClassVar[int]
    MODULE_LIMITS_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SPECS_FIELD_NUMBER: _ClassVar[int]
    TRUSTED_FIELD_NUMBER: _ClassVar[int]
    abi_version: int
    creation_backoff: CreationBackoff
    engine: ExtractorEngine
    extract_timeout: _duration_pb2.Duration
    instance_memory_limit_mb: int
    kind: ExtractorKind
    max_document_bytes: int
    max_instances: int
    min_instances: int
    modes: _containers.RepeatedScalarFieldContainer[str]
    module_limits: ModuleLimits
    pool: str
    sha256: str
    specs: _containers.RepeatedScalarFieldContainer[str]
    trusted: bool
    def __init__(self, pool: _Optional[str] = ..., kind: _Optional[_Union[ExtractorKind, str]] = ..., modes: _Optional[_Iterable[str]] = ..., abi_version: _Optional[int] = ..., trusted: bool = ..., min_instances: _Optional[int] = ..., max_instances: _Optional[int] = ..., instance_memory_limit_mb: _Optional[int] = ..., extract_timeout: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., sha256: _Optional[str] = ..., specs: _Optional[_Iterable[str]] = ..., engine: _Optional[_Union[ExtractorEngine, str]] = ..., max_document_bytes: _Optional[int] = ..., module_limits: _Optional[_Union[ModuleLimits, _Mapping]] = ..., creation_backoff: _Optional[_Union[CreationBackoff, _Mapping]] = ...) -> None: ...

class FieldResult(_message.Message):
    __slots__ = ["matches", "result", "truncated", "unresolved_urls", "values", "xpath"]
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    UNRESOLVED_URLS_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    XPATH_FIELD_NUMBER: _ClassVar[int]
    matches: _containers.RepeatedCompositeFieldContainer[RegexMatch]
    result: _struct_pb2.Struct
    truncated: bool
    unresolved_urls: int
    values: _containers.RepeatedScalarFieldContainer[str]
    xpath: XpathResult
    def __init__(self, values: _Optional[_Iterable[str]] = ..., matches: _Optional[_Iterable[_Union[RegexMatch, _Mapping]]] = ..., truncated: bool = ..., xpath: _Optional[_Union[XpathResult, _Mapping]] = ..., unresolved_urls: _Optional[int] = ..., result: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class FieldSpec(_message.Message):
    __slots__ = ["css", "regex", "structured", "xpath"]
    CSS_FIELD_NUMBER: _ClassVar[int]
    REGEX_FIELD_NUMBER: _ClassVar[int]
    STRUCTURED_FIELD_NUMBER: _ClassVar[int]
    XPATH_FIELD_NUMBER: _ClassVar[int]
    css: CssSpec
    regex: RegexSpec
    structured: StructuredSpec
    xpath: XpathSpec
    def __init__(self, css: _Optional[_Union[CssSpec, _Mapping]] = ..., regex: _Optional[_Union[RegexSpec, _Mapping]] = ..., xpath: _Optional[_Union[XpathSpec, _Mapping]] = ..., structured: _Optional[_Union[StructuredSpec, _Mapping]] = ...) -> None: ...

class FieldsSpec(_message.Message):
    __slots__ = ["fields"]
    class FieldsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: FieldSpec
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[FieldSpec, _Mapping]] = ...) -> None: ...
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    fields: _containers.MessageMap[str, FieldSpec]
    def __init__(self, fields: _Optional[_Mapping[str, FieldSpec]] = ...) -> None: ...

class ForceGCRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class ForceGCResponse(_message.Message):
    __slots__ = ["after", "before", "duration", "reclaimed_bytes", "recycled"]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    RECLAIMED_BYTES_FIELD_NUMBER: _ClassVar[int]
    RECYCLED_FIELD_NUMBER: _ClassVar[int]
    after: MemoryStats
    before: MemoryStats
    duration: _duration_pb2.Duration
    reclaimed_bytes: int
    recycled: int
    def __init__(self, before: _Optional[_Union[MemoryStats, _Mapping]] = ..., after: _Optional[_Union[MemoryStats, _Mapping]] = ..., reclaimed_bytes: _Optional[int] = ..., recycled: _Optional[int] = ..., duration: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class GcCompleted(_message.Message):
    __slots__ = ["reclaimed_bytes", "recycled"]
    RECLAIMED_BYTES_FIELD_NUMBER: _ClassVar[int]
    RECYCLED_FIELD_NUMBER: _ClassVar[int]
    reclaimed_bytes: int
    recycled: int
    def __init__(self, reclaimed_bytes: _Optional[int] = ..., recycled: _Optional[int] = ...) -> None: ...

class GetMetricsRequest(_message.Message):
    __slots__ = ["pools"]
    POOLS_FIELD_NUMBER: _ClassVar[int]
    pools: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, pools: _Optional[_Iterable[str]] = ...) -> None: ...

class GetMetricsResponse(_message.Message):
    __slots__ = ["memory", "native", "pools"]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    NATIVE_FIELD_NUMBER: _ClassVar[int]
    POOLS_FIELD_NUMBER: _ClassVar[int]
    memory: MemoryStats
    native: NativeMetrics
    pools: _containers.RepeatedCompositeFieldContainer[PoolStats]
    def __init__(self, pools: _Optional[_Iterable[_Union[PoolStats, _Mapping]]] = ..., memory: _Optional[_Union[MemoryStats, _Mapping]] = ..., native: _Optional[_Union[NativeMetrics, _Mapping]] = ...) -> None: ...

class HealthCheckFailed(_message.Message):
    __slots__ = ["reason"]
    REASON_FIELD_NUMBER: _ClassVar[int]
    reason: str
    def __init__(self, reason: _Optional[str] = ...) -> None: ...

class HealthRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class HealthResponse(_message.Message):
    __slots__ = ["error_rate", "level", "memory_pressure", "memory_usage_mb", "pools", "reasons", "score", "uptime", "utilization", "version"]
    ERROR_RATE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    MEMORY_PRESSURE_FIELD_NUMBER: _ClassVar[int]
    MEMORY_USAGE_MB_FIELD_NUMBER: _ClassVar[int]
    POOLS_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    UPTIME_FIELD_NUMBER: _ClassVar[int]
    UTILIZATION_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    error_rate: float
    level: HealthLevel
    memory_pressure: float
    memory_usage_mb: float
    pools: _containers.RepeatedCompositeFieldContainer[PoolHealth]
    reasons: _containers.RepeatedScalarFieldContainer[str]
    score: int
    uptime: _duration_pb2.Duration
    utilization: float
    version: str
    def __init__(self, level: _Optional[_Union[HealthLevel, str]] = ..., score: _Optional[int] = ..., utilization: _Optional[float] = ..., memory_usage_mb: _Optional[float] = ..., memory_pressure: _Optional[float] = ..., error_rate: _Optional[float] = ..., pools: _Optional[_Iterable[_Union[PoolHealth, _Mapping]]] = ..., uptime: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., version: _Optional[str] = ..., reasons: _Optional[_Iterable[str]] = ...) -> None: ...

class InstanceCheckedOut(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class InstanceCreated(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class InstanceDestroyed(_message.Message):
    __slots__ = ["reason"]
    REASON_FIELD_NUMBER: _ClassVar[int]
    reason: str
    def __init__(self, reason: _Optional[str] = ...) -> None: ...

class InstanceReturned(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class Lease(_message.Message):
    __slots__ = ["expires_at", "instance_id", "lease_id", "pool"]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    expires_at: _timestamp_pb2.Timestamp
    instance_id: str
    lease_id: str
    pool: str
    def __init__(self, lease_id: _Optional[str] = ..., pool: _Optional[str] = ..., instance_id: _Optional[str] = ..., expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class LeaseExpired(_message.Message):
    __slots__ = ["lease_id"]
    LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    lease_id: str
    def __init__(self, lease_id: _Optional[str] = ...) -> None: ...

class Limits(_message.Message):
    __slots__ = ["checkout_timeout", "css_max_element_work", "css_max_has_depth", "lease_default_ttl", "lease_max_ttl", "max_document_bytes", "max_fields", "max_json_ld_bytes", "max_json_ld_depth", "max_matches", "max_microdata_depth", "max_microformat_bytes", "max_microformat_depth", "max_pattern_length", "max_rdfa_bytes", "max_rdfa_depth", "max_result_bytes", "max_selector_length", "max_structured_items", "max_work", "max_xpath_nesting", "max_xpath_steps"]
    CHECKOUT_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    CSS_MAX_ELEMENT_WORK_FIELD_NUMBER: _ClassVar[int]
    CSS_MAX_HAS_DEPTH_FIELD_NUMBER: _ClassVar[int]
    LEASE_DEFAULT_TTL_FIELD_NUMBER: _ClassVar[int]
    LEASE_MAX_TTL_FIELD_NUMBER: _ClassVar[int]
    MAX_DOCUMENT_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELDS_FIELD_NUMBER: _ClassVar[int]
    MAX_JSON_LD_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_JSON_LD_DEPTH_FIELD_NUMBER: _ClassVar[int]
    MAX_MATCHES_FIELD_NUMBER: _ClassVar[int]
    MAX_MICRODATA_DEPTH_FIELD_NUMBER: _ClassVar[int]
    MAX_MICROFORMAT_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_MICROFORMAT_DEPTH_FIELD_NUMBER: _ClassVar[int]
    MAX_PATTERN_LENGTH_FIELD_NUMBER: _ClassVar[int]
    MAX_RDFA_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_RDFA_DEPTH_FIELD_NUMBER: _ClassVar[int]
    MAX_RESULT_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_SELECTOR_LENGTH_FIELD_NUMBER: _ClassVar[int]
    MAX_STRUCTURED_ITEMS_FIELD_NUMBER: _ClassVar[int]
    MAX_WORK_FIELD_NUMBER: _ClassVar[int]
    MAX_XPATH_NESTING_FIELD_NUMBER: _ClassVar[int]
    MAX_XPATH_STEPS_FIELD_NUMBER: _ClassVar[int]
    checkout_timeout: _duration_pb2.Duration
    css_max_element_work: int
    css_max_has_depth: int
    lease_default_ttl: _duration_pb2.Duration
    lease_max_ttl: _duration_pb2.Duration
    max_document_bytes: int
    max_fields: int
    max_json_ld_bytes: int
    max_json_ld_depth: int
    max_matches: int
    max_microdata_depth: int
    max_microformat_bytes: int
    max_microformat_depth: int
    max_pattern_length: int
    max_rdfa_bytes: int
    max_rdfa_depth: int
    max_result_bytes: int
    max_selector_length: int
    max_structured_items: int
    max_work: int
    max_xpath_nesting: int
    max_xpath_steps: int
    def __init__(self, max_document_bytes: _Optional[int] = ..., max_result_bytes: _Optional[int] = ..., max_matches: _Optional[int] = ..., max_selector_length: _Optional[int] = ..., max_pattern_length: _Optional[int] = ..., checkout_timeout: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., lease_default_ttl: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., lease_max_ttl: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., max_fields: _Optional[int] = ..., max_xpath_steps: _Optional[int] = ..., max_work: _Optional[int] = ..., css_max_element_work: _Optional[int] = ..., css_max_has_depth: _Optional[int] = ..., max_json_ld_bytes: _Optional[int] = ..., max_json_ld_depth: _Optional[int] = ..., max_structured_items: _Optional[int] = ..., max_microdata_depth: _Optional[int] = ..., max_rdfa_depth: _Optional[int] = ..., max_rdfa_bytes: _Optional[int] = ..., max_xpath_nesting: _Optional[int] = ..., max_microformat_depth: _Optional[int] = ..., max_microformat_bytes: _Optional[int] = ...) -> None: ...

class ListExtractorsRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class ListExtractorsResponse(_message.Message):
    __slots__ = ["extractors", "limits"]
    EXTRACTORS_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    extractors: _containers.RepeatedCompositeFieldContainer[Extractor]
    limits: Limits
    def __init__(self, extractors: _Optional[_Iterable[_Union[Extractor, _Mapping]]] = ..., limits: _Optional[_Union[Limits, _Mapping]] = ...) -> None: ...

class MemoryPressure(_message.Message):
    __slots__ = ["level", "pressure"]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    PRESSURE_FIELD_NUMBER: _ClassVar[int]
    level: MemoryPressureLevel
    pressure: float
    def __init__(self, level: _Optional[_Union[MemoryPressureLevel, str]] = ..., pressure: _Optional[float] = ...) -> None: ...

class MemoryStats(_message.Message):
    __slots__ = ["budget_mb", "gc_count", "go_heap_mb", "in_use_mb", "instances_recycled", "peak_mb", "pressure", "total_allocated_mb"]
    BUDGET_MB_FIELD_NUMBER: _ClassVar[int]
    GC_COUNT_FIELD_NUMBER: _ClassVar[int]
    GO_HEAP_MB_FIELD_NUMBER: _ClassVar[int]
    INSTANCES_RECYCLED_FIELD_NUMBER: _ClassVar[int]
    IN_USE_MB_FIELD_NUMBER: _ClassVar[int]
    PEAK_MB_FIELD_NUMBER: _ClassVar[int]
    PRESSURE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_ALLOCATED_MB_FIELD_NUMBER: _ClassVar[int]
    budget_mb: float
    gc_count: int
    go_heap_mb: float
    in_use_mb: float
    instances_recycled: int
    peak_mb: float
    pressure: float
    total_allocated_mb: float
    def __init__(self, total_allocated_mb: _Optional[float] = ..., in_use_mb: _Optional[float] = ..., peak_mb: _Optional[float] = ..., gc_count: _Optional[int] = ..., instances_recycled: _Optional[int] = ..., budget_mb: _Optional[float] = ..., pressure: _Optional[float] = ..., go_heap_mb: _Optional[float] = ...) -> None: ...

class ModuleLimits(_message.Message):
    __slots__ = ["call_stack_charge_bytes", "document_blame_bytes", "failure_log_window", "first_stack_bytes", "fresh_instance_bytes", "housekeeping_timeout", "max_document_bytes", "max_error_text_bytes", "max_event_reason_bytes", "max_failure_log_lines", "max_result_bytes", "max_result_depth", "max_stack_bytes", "max_table_entries", "stack_allowance_bytes", "table_bytes"]
    CALL_STACK_CHARGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_BLAME_BYTES_FIELD_NUMBER: _ClassVar[int]
    FAILURE_LOG_WINDOW_FIELD_NUMBER: _ClassVar[int]
    FIRST_STACK_BYTES_FIELD_NUMBER: _ClassVar[int]
    FRESH_INSTANCE_BYTES_FIELD_NUMBER: _ClassVar[int]
    HOUSEKEEPING_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    MAX_DOCUMENT_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_ERROR_TEXT_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_EVENT_REASON_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_FAILURE_LOG_LINES_FIELD_NUMBER: _ClassVar[int]
    MAX_RESULT_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_RESULT_DEPTH_FIELD_NUMBER: _ClassVar[int]
    MAX_STACK_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_TABLE_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    STACK_ALLOWANCE_BYTES_FIELD_NUMBER: _ClassVar[int]
    TABLE_BYTES_FIELD_NUMBER: _ClassVar[int]
    call_stack_charge_bytes: int
    document_blame_bytes: int
    failure_log_window: _duration_pb2.Duration
    first_stack_bytes: int
    fresh_instance_bytes: int
    housekeeping_timeout: _duration_pb2.Duration
    max_document_bytes: int
    max_error_text_bytes: int
    max_event_reason_bytes: int
    max_failure_log_lines: int
    max_result_bytes: int
    max_result_depth: int
    max_stack_bytes: int
    max_table_entries: int
    stack_allowance_bytes: int
    table_bytes: int
    def __init__(self, max_document_bytes: _Optional[int] = ..., document_blame_bytes: _Optional[int] = ..., max_result_bytes: _Optional[int] = ..., max_result_depth: _Optional[int] = ..., max_error_text_bytes: _Optional[int] = ..., max_table_entries: _Optional[int] = ..., housekeeping_timeout: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., max_stack_bytes: _Optional[int] = ..., first_stack_bytes: _Optional[int] = ..., stack_allowance_bytes: _Optional[int] = ..., table_bytes: _Optional[int] = ..., fresh_instance_bytes: _Optional[int] = ..., call_stack_charge_bytes: _Optional[int] = ..., max_failure_log_lines: _Optional[int] = ..., failure_log_window: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., max_event_reason_bytes: _Optional[int] = ...) -> None: ...

class ModuleLoaded(_message.Message):
    __slots__ = ["abi_version", "module", "sha256"]
    ABI_VERSION_FIELD_NUMBER: _ClassVar[int]
    MODULE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    abi_version: int
    module: str
    sha256: str
    def __init__(self, module: _Optional[str] = ..., abi_version: _Optional[int] = ..., sha256: _Optional[str] = ...) -> None: ...

class NativeMetrics(_message.Message):
    __slots__ = ["css_in_use", "css_total", "pattern_cache_hits", "pattern_cache_misses", "regex_in_use", "regex_total", "selector_cache_hits", "selector_cache_misses", "xpath_cache_entries", "xpath_cache_hits", "xpath_cache_misses"]
    CSS_IN_USE_FIELD_NUMBER: _ClassVar[int]
    CSS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    PATTERN_CACHE_HITS_FIELD_NUMBER: _ClassVar[int]
    PATTERN_CACHE_MISSES_FIELD_NUMBER: _ClassVar[int]
    REGEX_IN_USE_FIELD_NUMBER: _ClassVar[int]
    REGEX_TOTAL_FIELD_NUMBER: _ClassVar[int]
    SELECTOR_CACHE_HITS_FIELD_NUMBER: _ClassVar[int]
    SELECTOR_CACHE_MISSES_FIELD_NUMBER: _ClassVar[int]
    XPATH_CACHE_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    XPATH_CACHE_HITS_FIELD_NUMBER: _ClassVar[int]
    XPATH_CACHE_MISSES_FIELD_NUMBER: _ClassVar[int]
    css_in_use: int
    css_total: int
    pattern_cache_hits: int
    pattern_cache_misses: int
    regex_in_use: int
    regex_total: int
    selector_cache_hits: int
    selector_cache_misses: int
    xpath_cache_entries: int
    xpath_cache_hits: int
    xpath_cache_misses: int
    def __init__(self, css_in_use: _Optional[int] = ..., css_total: _Optional[int] = ..., regex_in_use: _Optional[int] = ..., regex_total: _Optional[int] = ..., selector_cache_hits: _Optional[int] = ..., selector_cache_misses: _Optional[int] = ..., pattern_cache_hits: _Optional[int] = ..., pattern_cache_misses: _Optional[int] = ..., xpath_cache_hits: _Optional[int] = ..., xpath_cache_misses: _Optional[int] = ..., xpath_cache_entries: _Optional[int] = ...) -> None: ...

class PoolCondition(_message.Message):
    __slots__ = ["active", "condition", "detail"]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    CONDITION_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    active: bool
    condition: str
    detail: str
    def __init__(self, condition: _Optional[str] = ..., active: bool = ..., detail: _Optional[str] = ...) -> None: ...

class PoolEvent(_message.Message):
    __slots__ = ["circuit_state_changed", "events_dropped", "gc_completed", "health_check_failed", "instance_checked_out", "instance_created", "instance_destroyed", "instance_id", "instance_returned", "lease_expired", "memory_pressure", "module_loaded", "pool", "pool_condition", "pool_exhausted", "time"]
    CIRCUIT_STATE_CHANGED_FIELD_NUMBER: _ClassVar[int]
    EVENTS_DROPPED_FIELD_NUMBER: _ClassVar[int]
    GC_COMPLETED_FIELD_NUMBER: _ClassVar[int]
    HEALTH_CHECK_FAILED_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_CHECKED_OUT_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_CREATED_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_DESTROYED_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_RETURNED_FIELD_NUMBER: _ClassVar[int]
    LEASE_EXPIRED_FIELD_NUMBER: _ClassVar[int]
    MEMORY_PRESSURE_FIELD_NUMBER: _ClassVar[int]
    MODULE_LOADED_FIELD_NUMBER: _ClassVar[int]
    POOL_CONDITION_FIELD_NUMBER: _ClassVar[int]
    POOL_EXHAUSTED_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    circuit_state_changed: CircuitStateChanged
    events_dropped: EventsDropped
    gc_completed: GcCompleted
    health_check_failed: HealthCheckFailed
    instance_checked_out: InstanceCheckedOut
    instance_created: InstanceCreated
    instance_destroyed: InstanceDestroyed
    instance_id: str
    instance_returned: InstanceReturned
    lease_expired: LeaseExpired
    memory_pressure: MemoryPressure
    module_loaded: ModuleLoaded
    pool: str
    pool_condition: PoolCondition
    pool_exhausted: PoolExhausted
    time: _timestamp_pb2.Timestamp
    def __init__(self, time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., pool: _Optional[str] = ..., instance_id: _Optional[str] = ..., instance_created: _Optional[_Union[InstanceCreated, _Mapping]] = ..., instance_destroyed: _Optional[_Union[InstanceDestroyed, _Mapping]] = ..., instance_checked_out: _Optional[_Union[InstanceCheckedOut, _Mapping]] = ..., instance_returned: _Optional[_Union[InstanceReturned, _Mapping]] = ..., health_check_failed: _Optional[_Union[HealthCheckFailed, _Mapping]] = ..., memory_pressure: _Optional[_Union[MemoryPressure, _Mapping]] = ..., circuit_state_changed: _Optional[_Union[CircuitStateChanged, _Mapping]] = ..., pool_exhausted: _Optional[_Union[PoolExhausted, _Mapping]] = ..., lease_expired: _Optional[_Union[LeaseExpired, _Mapping]] = ..., gc_completed: _Optional[_Union[GcCompleted, _Mapping]] = ..., module_loaded: _Optional[_Union[ModuleLoaded, _Mapping]] = ..., events_dropped: _Optional[_Union[EventsDropped, _Mapping]] = ..., pool_condition: _Optional[_Union[PoolCondition, _Mapping]] = ...) -> None: ...

class PoolEventsRequest(_message.Message):
    __slots__ = ["buffer_size", "kinds", "pools"]
    BUFFER_SIZE_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    POOLS_FIELD_NUMBER: _ClassVar[int]
    buffer_size: int
    kinds: _containers.RepeatedScalarFieldContainer[EventKind]
    pools: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, kinds: _Optional[_Iterable[_Union[EventKind, str]]] = ..., pools: _Optional[_Iterable[str]] = ..., buffer_size: _Optional[int] = ...) -> None: ...

class PoolEventsResponse(_message.Message):
    __slots__ = ["event"]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: PoolEvent
    def __init__(self, event: _Optional[_Union[PoolEvent, _Mapping]] = ...) -> None: ...

class PoolExhausted(_message.Message):
    __slots__ = ["waiters"]
    WAITERS_FIELD_NUMBER: _ClassVar[int]
    waiters: int
    def __init__(self, waiters: _Optional[int] = ...) -> None: ...

class PoolHealth(_message.Message):
    __slots__ = ["abandoned_running", "abandoned_total", "breaker_state", "engine", "error_rate", "fault_rate", "idle", "in_use", "leased", "max", "points_lost", "pool", "reasons", "total", "waiters"]
    ABANDONED_RUNNING_FIELD_NUMBER: _ClassVar[int]
    ABANDONED_TOTAL_FIELD_NUMBER: _ClassVar[int]
    BREAKER_STATE_FIELD_NUMBER: _ClassVar[int]
    ENGINE_FIELD_NUMBER: _ClassVar[int]
    ERROR_RATE_FIELD_NUMBER: _ClassVar[int]
    FAULT_RATE_FIELD_NUMBER: _ClassVar[int]
    IDLE_FIELD_NUMBER: _ClassVar[int]
    IN_USE_FIELD_NUMBER: _ClassVar[int]
    LEASED_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    POINTS_LOST_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    WAITERS_FIELD_NUMBER: _ClassVar[int]
    abandoned_running: int
    abandoned_total: int
    breaker_state: BreakerState
    engine: ExtractorEngine
    error_rate: float
    fault_rate: float
    idle: int
    in_use: int
    leased: int
    max: int
    points_lost: int
    pool: str
    reasons: _containers.RepeatedScalarFieldContainer[str]
    total: int
    waiters: int
    def __init__(self, pool: _Optional[str] = ..., total: _Optional[int] = ..., in_use: _Optional[int] = ..., idle: _Optional[int] = ..., waiters: _Optional[int] = ..., breaker_state: _Optional[_Union[BreakerState, str]] = ..., error_rate: _Optional[float] = ..., leased: _Optional[int] = ..., max: _Optional[int] = ..., engine: _Optional[_Union[ExtractorEngine, str]] = ..., abandoned_running: _Optional[int] = ..., abandoned_total: _Optional[int] = ..., fault_rate: _Optional[float] = ..., points_lost: _Optional[int] = ..., reasons: _Optional[_Iterable[str]] = ...) -> None: ...

class PoolStats(_message.Message):
    __slots__ = ["avg_creation", "avg_wait", "breaker_state", "checkouts", "create_failures", "created", "creating", "destroyed", "idle", "in_use", "kind", "leased", "max", "memory_bytes", "min", "p99_wait", "pool", "timeouts", "total", "utilization", "waiters", "waits"]
    class DestroyedEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    AVG_CREATION_FIELD_NUMBER: _ClassVar[int]
    AVG_WAIT_FIELD_NUMBER: _ClassVar[int]
    BREAKER_STATE_FIELD_NUMBER: _ClassVar[int]
    CHECKOUTS_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    CREATE_FAILURES_FIELD_NUMBER: _ClassVar[int]
    CREATING_FIELD_NUMBER: _ClassVar[int]
    DESTROYED_FIELD_NUMBER: _ClassVar[int]
    IDLE_FIELD_NUMBER: _ClassVar[int]
    IN_USE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LEASED_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    P99_WAIT_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    TIMEOUTS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    UTILIZATION_FIELD_NUMBER: _ClassVar[int]
    WAITERS_FIELD_NUMBER: _ClassVar[int]
    WAITS_FIELD_NUMBER: _ClassVar[int]
    avg_creation: _duration_pb2.Duration
    avg_wait: _duration_pb2.Duration
    breaker_state: BreakerState
    checkouts: int
    create_failures: int
    created: int
    creating: int
    destroyed: _containers.ScalarMap[str, int]
    idle: int
    in_use: int
    kind: ExtractorKind
    leased: int
    max: int
    memory_bytes: int
    min: int
    p99_wait: _duration_pb2.Duration
    pool: str
    timeouts: int
    total: int
    utilization: float
    waiters: int
    waits: int
    def __init__(self, pool: _Optional[str] = ..., kind: _Optional[_Union[ExtractorKind, str]] = ..., total: _Optional[int] = ..., in_use: _Optional[int] = ..., idle: _Optional[int] = ..., leased: _Optional[int] = ..., creating: _Optional[int] = ..., waiters: _Optional[int] = ..., min: _Optional[int] = ..., max: _Optional[int] = ..., utilization: _Optional[float] = ..., checkouts: _Optional[int] = ..., waits: _Optional[int] = ..., timeouts: _Optional[int] = ..., created: _Optional[int] = ..., create_failures: _Optional[int] = ..., destroyed: _Optional[_Mapping[str, int]] = ..., avg_wait: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., p99_wait: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., avg_creation: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., breaker_state: _Optional[_Union[BreakerState, str]] = ..., memory_bytes: _Optional[int] = ...) -> None: ...

class RegexMatch(_message.Message):
    __slots__ = ["end", "groups", "named_groups", "start", "value"]
    class NamedGroupsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    END_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    NAMED_GROUPS_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    end: int
    groups: _containers.RepeatedScalarFieldContainer[str]
    named_groups: _containers.ScalarMap[str, str]
    start: int
    value: str
    def __init__(self, value: _Optional[str] = ..., start: _Optional[int] = ..., end: _Optional[int] = ..., groups: _Optional[_Iterable[str]] = ..., named_groups: _Optional[_Mapping[str, str]] = ...) -> None: ...

class RegexSpec(_message.Message):
    __slots__ = ["all", "limit", "pattern", "source"]
    ALL_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    all: bool
    limit: int
    pattern: str
    source: RegexSource
    def __init__(self, pattern: _Optional[str] = ..., all: bool = ..., limit: _Optional[int] = ..., source: _Optional[_Union[RegexSource, str]] = ...) -> None: ...

class ReleaseLeaseRequest(_message.Message):
    __slots__ = ["discard", "lease_id"]
    DISCARD_FIELD_NUMBER: _ClassVar[int]
    LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    discard: bool
    lease_id: str
    def __init__(self, lease_id: _Optional[str] = ..., discard: bool = ...) -> None: ...

class ReleaseLeaseResponse(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class RenewLeaseRequest(_message.Message):
    __slots__ = ["lease_id", "ttl"]
    LEASE_ID_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    lease_id: str
    ttl: _duration_pb2.Duration
    def __init__(self, lease_id: _Optional[str] = ..., ttl: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class RenewLeaseResponse(_message.Message):
    __slots__ = ["lease"]
    LEASE_FIELD_NUMBER: _ClassVar[int]
    lease: Lease
    def __init__(self, lease: _Optional[_Union[Lease, _Mapping]] = ...) -> None: ...

class StructuredSpec(_message.Message):
    __slots__ = ["flatten_graph", "syntaxes"]
    FLATTEN_GRAPH_FIELD_NUMBER: _ClassVar[int]
    SYNTAXES_FIELD_NUMBER: _ClassVar[int]
    flatten_graph: bool
    syntaxes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, syntaxes: _Optional[_Iterable[str]] = ..., flatten_graph: bool = ...) -> None: ...

class Timing(_message.Message):
    __slots__ = ["extraction", "queue_wait", "total"]
    EXTRACTION_FIELD_NUMBER: _ClassVar[int]
    QUEUE_WAIT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    extraction: _duration_pb2.Duration
    queue_wait: _duration_pb2.Duration
    total: _duration_pb2.Duration
    def __init__(self, queue_wait: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., extraction: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., total: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class WasmSpec(_message.Message):
    __slots__ = ["mode", "module", "selectors"]
    MODE_FIELD_NUMBER: _ClassVar[int]
    MODULE_FIELD_NUMBER: _ClassVar[int]
    SELECTORS_FIELD_NUMBER: _ClassVar[int]
    mode: str
    module: str
    selectors: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, module: _Optional[str] = ..., mode: _Optional[str] = ..., selectors: _Optional[_Iterable[str]] = ...) -> None: ...

class XpathResult(_message.Message):
    __slots__ = ["boolean", "number", "type"]
    BOOLEAN_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    boolean: bool
    number: float
    type: XpathResultType
    def __init__(self, type: _Optional[_Union[XpathResultType, str]] = ..., number: _Optional[float] = ..., boolean: bool = ...) -> None: ...

class XpathSpec(_message.Message):
    __slots__ = ["absolute_urls", "all", "attribute", "expression", "limit", "output"]
    ABSOLUTE_URLS_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTE_FIELD_NUMBER: _ClassVar[int]
    EXPRESSION_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    absolute_urls: bool
    all: bool
    attribute: str
    expression: str
    limit: int
    output: CssOutput
    def __init__(self, expression: _Optional[str] = ..., attribute: _Optional[str] = ..., output: _Optional[_Union[CssOutput, str]] = ..., all: bool = ..., limit: _Optional[int] = ..., absolute_urls: bool = ...) -> None: ...

class CssOutput(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class XpathResultType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class RegexSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class HealthLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class BreakerState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class EventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class MemoryPressureLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class ExtractorKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class ExtractorEngine(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
