#!/usr/bin/python3
"""Make the reference answers that internal/native's anchor tests compare
with, from Debian's python3-lxml, -html5lib, -parsel, -w3lib and -extruct
(apt-get install python3-lxml python3-html5lib python3-parsel python3-w3lib
python3-extruct), over every page of ../shared/corpus whose bytes are UTF-8.

    /usr/bin/python3 make_anchors.py CORPUS_DIR > anchors.json

or, to add or redo the structured anchors of some syntaxes only (extruct
answers each syntax on its own, so this writes what a whole run would):

    /usr/bin/python3 make_anchors.py --structured microformat CORPUS_DIR anchors.json

The microdata anchors come in three forms (MICRODATA_FORMS), so that the
test can tell which of the explained differences a page has: as extruct
answers; with every http(s) URL value in a canonical form (url_form),
which undoes the differences between urljoin and WHATWG resolution; and
with that and no white space in any string value, which undoes the
differences between html_text's layout-guessing text and the daemon's.
The rdfa anchors come in a second form too (RDFA_FORMS): with line breaks
as HTML5's input stream has them.

The pages are parsed once with html5lib into an lxml tree (an HTML5 parser,
as the daemon's x/net/html is, so that the anchors test the XPath engine,
parsel's pseudo-elements and the URL resolution rather than the
differences between libxml2's HTML 4 parser and HTML5's), and then:

- xpath: lxml's XPath 1.0 over that tree, for each expression of
  XPATH_EXPRESSIONS (prefixes svg, math, xlink bound);
- pseudo: parsel.Selector(root=that tree).css(q).getall() for each query
  of PSEUDO_QUERIES;
- urls: every a@href, img@src, link@href, form@action answered by parsel,
  joined with urljoin against w3lib.html.get_base_url(page, page_url) and
  made safe by w3lib.url.safe_url_string, as Scrapy's response.urljoin and
  response.follow do;
- pages that are not UTF-8, or that html5lib cannot build into lxml
  (control characters in text), are skipped and listed;
- structured: extruct.extract(page, base_url=page_url, syntaxes=[json-ld,
  microdata, opengraph, rdfa, microformat], uniform=False): extruct parses
  with its own lxml HTML parser, as its users get it (microformat is mf2py
  over BeautifulSoup's lxml tree). rdflib names blank nodes at
  random and orders nodes as its hashes fall, so rdfa is compared as a
  set: every blank node's name is written "_:", each property's values
  are sorted, then the nodes (see rdfa_canon).

Answers are stored as a count and the first 12 hex digits of the SHA-256
of the values joined with U+001F (elements answer their local name;
numbers as XPath's string() writes them; structured data as JSON with
sorted keys), not the values themselves: the pages stay out of the repo.
"""

import hashlib
import json
import math
import multiprocessing
import os
import re
import sys
from decimal import Decimal
from urllib.parse import urljoin

import extruct
import html5lib
import lxml
import parsel
import w3lib
from lxml import etree
from w3lib.html import get_base_url
from w3lib.url import safe_url_string

NS = {
    "svg": "http://www.w3.org/2000/svg",
    "math": "http://www.w3.org/1998/Math/MathML",
    "xlink": "http://www.w3.org/1999/xlink",
}

XPATH_EXPRESSIONS = [
    "count(//*)",
    "count(//a)",
    "//a/@href",
    "//img/@src",
    "string(//title)",
    "normalize-space(//title)",
    "//meta/@content",
    "//meta[@property='og:title']/@content",
    "count(//p[a])",
    "//h1//text()",
    "//li[1]/a/@href",
    "//a[last()]/@href",
    "//a[contains(@href, 'http')]/@href",
    "//a[starts-with(@href, '/')]/@href",
    "(//*[@id])[position() <= 5]/@id",
    "//link[@rel='canonical']/@href",
    "count(//script)",
    "boolean(//form)",
    "//div[@class]/@class",
    "//p[position() = 2]/text()",
    "//img/ancestor::*[1]",
    "//h2/following-sibling::*[1]",
    "//a/parent::*",
    "//title | //h1",
    "count(//img[@width])",
    "string-length(string(//body))",
    "count(//svg:svg)",
    "count(//comment())",
    "//*[self::h1 or self::h2]",
    "substring-before(//a[@href][1]/@href, ':')",
    "translate(normalize-space(//h1), 'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')",
    "//input/@name",
    "//ul/li[last()]/preceding-sibling::li[1]",
    "count(//*[not(*)])",
    "//meta[@name='description']/@content",
    "sum(//li/@value) = 0",
    # XPath 1.0's positions: per node of the step before, along the axis
    # (backwards on reverse axes), and over the whole set for a filter.
    "//li[position() mod 2 = 0]",
    "(//a[@href])[last()]/@href",
    "//p[a][2]",
    "//li[2]/preceding-sibling::*[last()]",
    "(//p)[position() > 1 and position() < 4]",
    "//*[@id][last()]/@id",
    "//a[position() <= 2]/@href",
    "//div[p[2]]/@class",
    "//h2/preceding::*[1]",
    "//img/ancestor::div[2]/@class",
    "count(//*[position() = last()])",
    "(//div//a)[1]/@href",
]

PSEUDO_QUERIES = [
    "title::text",
    "a::attr(href)",
    "p::text",
    "p ::text",
    "h1 *::text",
    "meta[name=description]::attr(content)",
    "img::attr(src)",
    "li a::attr(href)",
    "a::text",
    'script[type="application/ld+json"]::text',
    "html::attr(lang)",
    "link[rel=canonical]::attr(href)",
    "h1::text, h2::text",
    "div > a::attr(title)",
]

URL_QUERIES = ["a::attr(href)", "img::attr(src)", "link::attr(href)", "form::attr(action)"]


def h(values):
    return [len(values), hashlib.sha256("\x1f".join(values).encode("utf-8", "surrogatepass")).hexdigest()[:12]]


def number(f):
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "Infinity" if f > 0 else "-Infinity"
    if f == int(f):
        return str(int(f))
    return format(Decimal(repr(f)), "f")


def xvalue(v):
    if isinstance(v, bool):
        return ["true" if v else "false"]
    if isinstance(v, float):
        return [number(v)]
    if not isinstance(v, list):  # a string (lxml's "smart" str included)
        return [str(v)]
    out = []
    for x in v:
        if isinstance(x, etree._Comment):
            out.append(x.text or "")
        elif isinstance(x, etree._Element):
            out.append(etree.QName(x).localname)
        else:
            out.append(str(x))
    return out


def join(base, v):
    """Scrapy's response.urljoin made safe as response.follow does; a value
    they refuse (a port that is not a number...) stays as written."""
    try:
        return safe_url_string(urljoin(base, v.strip()))
    except ValueError:
        return v


def canon(v):
    return json.dumps(v, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def rdfa_canon(nodes):
    """The rdfa nodes as sorted canonical JSON, blank node names erased."""
    def blank(v):
        if isinstance(v, dict):
            return {k: ("_:" if k == "@id" and isinstance(x, str) and x.startswith("_:") else blank(x)) for k, x in v.items()}
        if isinstance(v, list):
            return sorted((blank(x) for x in v), key=canon)
        return v
    return sorted(canon(blank(n)) for n in nodes)


SYNTAXES = ["json-ld", "microdata", "opengraph", "rdfa", "microformat"]


def page(args):
    try:
        return page_anchors(args)
    except Exception as err:
        raise RuntimeError("%s: %r" % (args[0], err)) from err


def page_text(path):
    """The page as text, or None when it is not UTF-8."""
    raw = open(path, "rb").read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text[1:] if text.startswith("\ufeff") else text


_URL = re.compile(r"^(https?)://([^/?#\\]*)(.*)$", re.I | re.S)
_PCT = re.compile(r"(?:%[0-9A-Fa-f]{2})+")


def unpercent(s):
    """s with each run of %XX decoded where the bytes are UTF-8."""
    def dec(m):
        b = bytes.fromhex(m.group(0).replace("%", ""))
        try:
            return b.decode("utf-8")
        except UnicodeDecodeError:
            return m.group(0)
    return _PCT.sub(dec, s)


def dot_segments(path):
    """RFC 3986's remove_dot_segments."""
    out = []
    segs = path.split("/")
    for i, seg in enumerate(segs):
        if seg == "..":
            if len(out) > 1:
                out.pop()
            if i == len(segs) - 1:
                out.append("")
        elif seg == ".":
            if i == len(segs) - 1:
                out.append("")
        else:
            out.append(seg)
    return "/".join(out)


def url_form(s):
    """An http(s) URL in a form that urljoin's and WHATWG's answers for it
    share: scheme and host lowercased, the default port dropped, \\ read
    as /, the path / when empty, dot segments removed, escapes decoded,
    an empty query or fragment dropped. Anything else is s."""
    m = _URL.match(s)
    if not m:
        return s
    scheme, host, rest = m.group(1).lower(), m.group(2).lower(), m.group(3)
    if (scheme, host.rpartition(":")[2]) in (("http", "80"), ("https", "443")):
        host = host.rpartition(":")[0]
    rest, _, frag = rest.partition("#")
    path, _, query = rest.partition("?")
    path = dot_segments(unpercent(path.replace("\\", "/")) or "/")
    out = scheme + "://" + host + path
    if query:
        out += "?" + unpercent(query)
    if frag:
        out += "#" + unpercent(frag)
    return out


def no_space(s):
    return "".join(s.split())


MICRODATA_FORMS = {
    "microdata~urls": url_form,
    "microdata~urls~space": lambda s: no_space(url_form(s)),
}


def line_feeds(s):
    """s with its line breaks as HTML5's input stream has them: CR LF and
    a lone CR become LF, where libxml2 keeps them."""
    return s.replace("\r\n", "\n").replace("\r", "\n")


RDFA_FORMS = {"rdfa~lf": line_feeds}


def strings_in(v, f):
    """v with f applied to every string value (not to keys)."""
    if isinstance(v, dict):
        return {k: strings_in(x, f) for k, x in v.items()}
    if isinstance(v, list):
        return [strings_in(x, f) for x in v]
    return f(v) if isinstance(v, str) else v


def structured(text, url, syntaxes):
    try:
        data = extruct.extract(text, base_url=url, syntaxes=syntaxes, uniform=False, errors="ignore")
    except Exception as err:  # extruct gives up on some pages whole
        return {"error": type(err).__name__}
    out = {k: h(rdfa_canon(v) if k == "rdfa" else [canon(x) for x in v]) for k, v in data.items()}
    if "microdata" in data:
        for form, f in MICRODATA_FORMS.items():
            out[form] = h([canon(strings_in(x, f)) for x in data["microdata"]])
    if "rdfa" in data:
        for form, f in RDFA_FORMS.items():
            out[form] = h(rdfa_canon(strings_in(data["rdfa"], f)))
    return out


def page_structured(args):
    name, path, url, syntaxes = args
    text = page_text(path)
    return name, None if text is None else structured(text, url, syntaxes)


def page_anchors(args):
    name, path, url = args
    text = page_text(path)
    if text is None:
        return name, None
    try:
        tree = html5lib.parse(text, treebuilder="lxml", namespaceHTMLElements=False)
    except ValueError:
        # libxml2 takes no control characters in text, which html5lib
        # passes on from some pages: lxml cannot hold this page at all.
        return name, None
    out = {"xpath": [], "pseudo": [], "urls": [], "structured": {}}
    for e in XPATH_EXPRESSIONS:
        out["xpath"].append(h(xvalue(tree.xpath(e, namespaces=NS))))
    sel = parsel.Selector(root=tree.getroot())
    for q in PSEUDO_QUERIES:
        out["pseudo"].append(h(sel.css(q).getall()))
    try:
        base = get_base_url(text, url)
    except ValueError:
        base = url
    for q in URL_QUERIES:
        out["urls"].append(h([join(base, v) for v in sel.css(q).getall()]))
    out["structured"] = structured(text, url, SYNTAXES)
    return name, out


def jobs_of(corpus):
    jobs = []
    r = os.path.join(corpus, "readability")
    for d in sorted(os.listdir(r)):
        p = os.path.join(r, d, "source.html")
        if os.path.exists(p):
            jobs.append(("readability/" + d, p, "http://fakehost/test/page.html"))
    t = os.path.join(corpus, "trafilatura-eval")
    for e in json.load(open(os.path.join(t, "expectations.json"))):
        jobs.append(("trafilatura-eval/" + e["page"], os.path.join(t, e["page"]), e["url"]))
    return jobs


def update_structured(syntaxes, corpus, path):
    """Redoes the structured anchors of syntaxes in the anchors file at path."""
    anchors = json.load(open(path))
    jobs = [j + (syntaxes,) for j in jobs_of(corpus) if j[0] in anchors["pages"]]
    with multiprocessing.Pool(int(os.environ.get("JOBS", "2"))) as pool:
        for name, got in pool.imap(page_structured, jobs, chunksize=4):
            st = anchors["pages"][name]["structured"]
            if "error" in got or "error" in st:
                continue  # extruct gave up on the page whole, as before
            for s in syntaxes:
                st.pop(s, None)
                if s == "microdata":
                    for form in MICRODATA_FORMS:
                        st.pop(form, None)
                if s == "rdfa":
                    for form in RDFA_FORMS:
                        st.pop(form, None)
            st.update(got)
    with open(path, "w") as f:
        json.dump(anchors, f, separators=(",", ":"), sort_keys=False)
        f.write("\n")


def main():
    if sys.argv[1] == "--structured":
        update_structured(sys.argv[2].split(","), sys.argv[3], sys.argv[4])
        return
    corpus = sys.argv[1]
    jobs = jobs_of(corpus)
    with multiprocessing.Pool(int(os.environ.get("JOBS", "2"))) as pool:
        pages = dict(pool.map(page, jobs, chunksize=4))
    json.dump({
        "made_by": "internal/native/testdata/anchors/make_anchors.py",
        "versions": {"lxml": lxml.__version__, "html5lib": html5lib.__version__, "parsel": parsel.__version__,
                     "w3lib": w3lib.__version__, "extruct": "0.14.0 (Debian python3-extruct 0.14.0-2)"},
        "xpath_expressions": XPATH_EXPRESSIONS,
        "pseudo_queries": PSEUDO_QUERIES,
        "url_queries": URL_QUERIES,
        "pages": {k: v for k, v in sorted(pages.items()) if v is not None},
        "skipped_not_utf8_or_not_xml": sorted(k for k, v in pages.items() if v is None),
    }, sys.stdout, separators=(",", ":"), sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
