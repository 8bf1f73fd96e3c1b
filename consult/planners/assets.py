"""Planners: plotly.js and its styles, served from the installed plotly package; their CSP.

Only planners' pages load plotly.js (4.8 MB; 1.5 MB gzipped): never from a
CDN, since the server may be the only host a browser reaches. The version is
in the URL, so the files are cached for a year and a new plotly gets new URLs.

plotly.js adds its few global CSS rules by creating a <style> element, which
the Content-Security-Policy `style-src 'self'` refuses. plotly.js skips that
when the page holds an element `#plotly.js-style-global.no-inline-styles`
(plotly.js PR 7109), and likewise skips the stylesheet it bundles for maps
when an element with that sheet's id is there: so the macro `chart_scripts()`
links those rules, read from the same bundle, as a stylesheet of our own, and
`style-src 'self'` stays. Drawing needs no eval either (`script-src 'self'`
stays); only the download button needs `img-src blob:`, allowed for the
planners' pages alone (`planners_policy`).
"""

from __future__ import annotations

import gzip
import hashlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from typing import Any, Generic, TypeVar

from flask import request, url_for
from flask.wrappers import Response
from plotly.offline import get_plotlyjs_version

from consult.access import public
from consult.planners import bp
from consult.security import CONTENT_SECURITY_POLICY

T = TypeVar("T")
PLOTLY_VERSION = get_plotlyjs_version()
#: The `id` and `class` that tell plotly.js its global styles are already on the page.
STYLE_ID = "plotly.js-style-global"
STYLE_CLASS = "no-inline-styles"
YEAR = 365 * 24 * 3600
CACHE_CONTROL = f"public, max-age={YEAR}, immutable"


def plotly_js() -> bytes:
    """Return the minified plotly.js shipped in the plotly package."""
    return (files("plotly") / "package_data" / "plotly.min.js").read_bytes()


# plotly.js keeps its global rules in one object literal, {"X,X div":'direction:ltr;...', ...,
# Y:'...'}, and writes each with X and Y replaced (src/css/_base.scss, build/plotcss.js).
_RULES_START = re.compile(r'\{"X,X div":')
_STRING = r""""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'"""
_RULE = re.compile(rf"\s*({_STRING}|[A-Za-z_$][\w$]*)\s*:\s*({_STRING})\s*([,}}])")
# Its bundler also injects the stylesheets of some dependencies (maplibre's) on load, each
# unless an element with the sheet's id is on the page.
_INJECTED = re.compile(
    r'document\.getElementById\("([^"]+)"\)\)\{var (\w+)=document\.createElement\("style"\);'
    rf"\2\.id=\"\1\",\2\.textContent=({_STRING})"
)
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|\n|.)", re.S)
_CONTROL = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0", "\n": ""}


@dataclass(frozen=True)
class Styles:
    """The CSS plotly.js would add with <style> elements, and the ids of those elements."""

    css: bytes
    injected_ids: tuple[str, ...]


def plotly_styles(source: bytes) -> Styles:
    """Read from the plotly.js bundle the CSS it would inject, as one stylesheet of ours.

    Raise ValueError when the bundle does not hold its global rules in the
    expected shape (a test runs this on the installed plotly).
    """
    text = source.decode("utf-8")
    found = _RULES_START.search(text)
    if found is None:
        raise ValueError("plotly.js: the global style rules were not found")
    position = found.start() + 1
    rules = [f"/* plotly.js {PLOTLY_VERSION}: the styles it injects, read from its bundle (MIT) */"]
    while True:
        rule = _RULE.match(text, position)
        if rule is None:
            raise ValueError(f"plotly.js: unreadable style rule at offset {position}")
        selector, declarations = _unquote(rule[1]), _unquote(rule[2])
        selector = selector.replace("X", ".js-plotly-plot .plotly").replace("Y", ".plotly-notifier")
        rules.append(f"{selector}{{{declarations}}}")
        position = rule.end()
        if rule[3] == "}":
            break
    ids = []
    for sheet in _INJECTED.finditer(text):
        ids.append(sheet[1])
        rules.append(f"/* #{sheet[1]} */\n{_unquote(sheet[3])}")
    return Styles("\n".join([*rules, ""]).encode("utf-8"), tuple(ids))


def _unquote(token: str) -> str:
    """Return the value of a JavaScript string literal (or an identifier as it stands)."""
    if token[:1] not in "\"'":
        return token
    return _ESCAPE.sub(_unescape, token[1:-1])


def _unescape(escape: re.Match[str]) -> str:
    code = escape[1]
    if code[0] in "xu" and len(code) > 1:
        return chr(int(code.strip("xu{}"), 16))
    return _CONTROL.get(code, code)


class Lazy(Generic[T]):
    """A value made at its first use, once, however many threads ask at the same time."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._made: list[T] = []

    def get(self) -> T:
        if not self._made:
            with self._lock:
                if not self._made:
                    self._made.append(self._make())
        return self._made[0]


class Asset:
    """A file served from memory: read once, gzipped once, both kept."""

    def __init__(self, read: Callable[[], bytes], mimetype: str) -> None:
        self.mimetype = mimetype
        self._body = Lazy(read)
        self._gzipped = Lazy(lambda: gzip.compress(self.body, compresslevel=9, mtime=0))
        self._etag = Lazy(lambda: hashlib.sha256(self.body).hexdigest()[:32])

    @property
    def body(self) -> bytes:
        return self._body.get()

    @property
    def gzipped(self) -> bytes:
        return self._gzipped.get()

    @property
    def etag(self) -> str:
        return self._etag.get()

    def response(self) -> Response:
        """Answer a GET: gzip if the client takes it, 304 when it holds this version already."""
        compressed = request.accept_encodings.quality("gzip") > 0
        etag = f"{self.etag}-gz" if compressed else self.etag
        response = Response(mimetype=self.mimetype)
        response.headers["Cache-Control"] = CACHE_CONTROL
        response.headers["Vary"] = "Accept-Encoding"
        response.set_etag(etag)
        if request.if_none_match.contains(etag):
            response.status_code = 304
            return response
        response.set_data(self.gzipped if compressed else self.body)
        if compressed:
            response.headers["Content-Encoding"] = "gzip"
        return response


PLOTLY_JS = Asset(plotly_js, "text/javascript")
PLOTLY_STYLES = Lazy(lambda: plotly_styles(PLOTLY_JS.body))
PLOTLY_CSS = Asset(lambda: PLOTLY_STYLES.get().css, "text/css")


def with_source(policy: str, directive: str, source: str) -> str:
    """Return the policy with one more source allowed for one of its directives."""
    parts = [part.strip() for part in policy.split(";")]
    names = [part.split()[0] for part in parts]
    if directive in names:
        parts[names.index(directive)] += f" {source}"
    else:
        parts.append(f"{directive} {source}")
    return "; ".join(parts)


#: The planners' pages may show images from blob: URLs: plotly.js's download button draws
#: the chart's SVG into a canvas through an <img> of a blob: URL, to save it as PNG. Such
#: URLs are made only by the page's own scripts, which `script-src 'self'` still governs.
PLANNERS_POLICY = with_source(CONTENT_SECURITY_POLICY, "img-src", "blob:")


@bp.after_request
def planners_policy(response: Response) -> Response:
    """Send the planners' Content-Security-Policy (before the app's hook sends the default)."""
    response.headers.setdefault("Content-Security-Policy", PLANNERS_POLICY)
    return response


@bp.get(f"/assets/plotly-{PLOTLY_VERSION}.min.js")
@public  # a published library: nothing to guard, and cached by browsers and proxies
def plotly_script() -> Response:
    return PLOTLY_JS.response()


@bp.get(f"/assets/plotly-{PLOTLY_VERSION}.css")
@public
def plotly_stylesheet() -> Response:
    return PLOTLY_CSS.response()


@bp.app_template_global()
def plotly_url() -> str:
    """Return the URL of the installed plotly.js, versioned."""
    return url_for("planners.plotly_script")


@bp.app_template_global()
def plotly_css_url() -> str:
    """Return the URL of plotly.js's global styles, versioned."""
    return url_for("planners.plotly_stylesheet")


@bp.app_template_global()
def plotly_style_markers() -> dict[str, Any]:
    """Return the ids plotly.js looks up before injecting a stylesheet (see the module doc)."""
    return {"id": STYLE_ID, "class": STYLE_CLASS, "injected": PLOTLY_STYLES.get().injected_ids}
