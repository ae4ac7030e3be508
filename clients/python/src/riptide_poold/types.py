"""Typed questions and answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple


@dataclass(frozen=True)
class Css:
    """A CSS question: the text (or output, or attribute) of the first
    match of selector, or of every match when all."""

    selector: str
    attribute: str = ""
    output: str = "text"  # text, inner_html, outer_html
    all: bool = False
    limit: int = 0
    absolute_urls: bool = False


@dataclass(frozen=True)
class XPath:
    """An XPath 1.0 question: a node set's texts (or output, or attribute),
    or the number, string or boolean the expression answers."""

    expression: str
    attribute: str = ""
    output: str = "text"  # text, inner_html, outer_html
    all: bool = False
    limit: int = 0
    absolute_urls: bool = False


@dataclass(frozen=True)
class Regex:
    """A regular expression (Go RE2) run on the visible text, or on the
    raw markup when source is "html"."""

    pattern: str
    all: bool = False
    limit: int = 0
    source: str = "text"  # text, html


@dataclass(frozen=True)
class Structured:
    """A structured-data question, as a field of a fields call: extruct's
    syntaxes (json-ld, microdata, opengraph, rdfa, microformat) plus twitter and meta;
    all when syntaxes is empty."""

    syntaxes: Tuple[str, ...] = ()
    flatten_graph: bool = False


@dataclass(frozen=True)
class Served:
    """Who served a call and where its time went, in seconds."""

    pool: str = ""
    instance_id: str = ""
    queue_wait: float = 0.0
    extraction: float = 0.0
    total: float = 0.0
    fallback: bool = False


@dataclass(frozen=True)
class Values:
    """The answer of a CSS or XPath question. For XPath, xpath_type is
    "node_set", "string", "number" or "boolean", and number / boolean hold
    what a number or boolean expression answered."""

    values: List[str]
    truncated: bool = False
    served: Served = field(default_factory=Served)
    unresolved_urls: int = 0
    xpath_type: str = ""
    number: float = 0.0
    boolean: bool = False


@dataclass(frozen=True)
class Match:
    """One match; start and end are byte offsets in the searched text."""

    value: str
    start: int
    end: int
    groups: List[str]
    named: Dict[str, str]


@dataclass(frozen=True)
class Matches:
    """The answer of a Regex question."""

    matches: List[Match]
    truncated: bool = False
    served: Served = field(default_factory=Served)


@dataclass(frozen=True)
class FieldResult:
    """One field's answer: values for CSS and XPath (with unresolved_urls, and
    for XPath xpath_type, number and boolean as in Values), matches for
    Regex, result (the shape extruct.extract answers) for Structured."""

    values: List[str]
    matches: List[Match]
    truncated: bool = False
    result: Optional[Dict[str, Any]] = None
    unresolved_urls: int = 0
    xpath_type: str = ""
    number: float = 0.0
    boolean: bool = False


@dataclass(frozen=True)
class Fields:
    """The answer of a fields call, by field name."""

    fields: Dict[str, FieldResult]
    served: Served = field(default_factory=Served)


@dataclass(frozen=True)
class Result:
    """A WebAssembly module's or a structured question's answer: its JSON
    object. truncated is set when the daemon cut a structured answer at one
    of its bounds (max_structured_items and the others in Limits)."""

    result: Dict[str, Any]
    served: Served = field(default_factory=Served)
    truncated: bool = False


@dataclass(frozen=True)
class Link:
    url: str
    text: str


@dataclass(frozen=True)
class Media:
    type: str
    url: str
    alt: str


@dataclass(frozen=True)
class Article:
    """The bundled article module's result (docs/wasm-abi.md)."""

    url: str = ""
    title: str = ""
    byline: str = ""
    published_time: str = ""
    site_name: str = ""
    description: str = ""
    lang: str = ""
    dir: str = ""
    authors: List[str] = field(default_factory=list)
    categories: List[str] = field(default_factory=list)
    tags: List[str] = field(default_factory=list)
    text: str = ""
    content_html: str = ""
    markdown: str = ""
    links: List[Link] = field(default_factory=list)
    media: List[Media] = field(default_factory=list)
    word_count: int = 0
    reading_time_minutes: float = 0.0
    quality_score: int = 0
    selectors: Dict[str, List[str]] = field(default_factory=dict)
    served: Served = field(default_factory=Served)


@dataclass(frozen=True)
class Limits:
    """The daemon's request limits (ListExtractors)."""

    max_document_bytes: int
    max_result_bytes: int
    max_matches: int
    max_fields: int
    checkout_timeout: float
    lease_default_ttl: float
    lease_max_ttl: float
    extra: Optional[Dict[str, Any]] = None
