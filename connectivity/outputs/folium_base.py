"""The folium machinery every HTML map shares: a blank map, a legend, a title, a marker,
fitting the view, escaping, offline pages and writing them.

A map is a :class:`folium.Map`; :func:`save_map` writes it atomically. With
``offline=True`` the page needs no network: Leaflet's JS and CSS are inlined from a local
copy of the npm package ``leaflet`` (see :func:`find_leaflet`), every ``<script src>`` and
``<link href>`` pointing at the internet (folium's jQuery, Bootstrap, Font Awesome and
awesome-markers) is removed, and no tile layer is added (tiles come from the internet).
Without it, the page links the CDNs as folium does and shows OpenStreetMap-based tiles.

Every text that comes from data (titles, labels, route, stop and zone names) passes
through :func:`escape` before it reaches the page, so ``<script>`` in a name shows as text;
GeoJSON properties (which folium writes into a ``<script>`` block and tooltips insert as
HTML) hold only escaped text.

The maps themselves are built on this: isochrones and transit routes in
:mod:`connectivity.outputs.maps`, zone choropleths in :mod:`connectivity.outputs.choropleth`.
"""

from __future__ import annotations

import base64
import hashlib
import html
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connectivity._errors import MissingDependencyError
from connectivity._files import write_text_atomic

if TYPE_CHECKING:
    import folium

__all__ = [
    "add_legend",
    "add_marker",
    "add_title",
    "escape",
    "find_leaflet",
    "map_html",
    "save_map",
]

log = logging.getLogger(__name__)

#: Fill opacity of isochrone bands.
FILL_OPACITY = 0.55

#: Background of an offline map (Leaflet's own, from leaflet.css).
OFFLINE_BACKGROUND = "#dddddd"

_OFFLINE_ATTR = "_connectivity_offline"


def escape(text: Any) -> str:
    """Escape text from data for HTML, and for the JavaScript template literals that
    folium wraps tooltips and popups in (backticks, ``${`` and backslashes too)."""
    return (
        html.escape(str(text), quote=True)
        .replace("`", "&#96;")
        .replace("$", "&#36;")
        .replace("\\", "&#92;")
    )


# -- Leaflet for offline pages -------------------------------------------------------


def find_leaflet(leaflet: str | Path | None = None) -> Path:
    """The ``dist`` folder of a local copy of the npm package ``leaflet``.

    Looked for, in order: the ``leaflet`` argument (the package folder or its ``dist``);
    ``connectivity.settings.leaflet_folder`` (environment variable
    ``CONNECTIVITY_LEAFLET``); ``node_modules/leaflet`` in the working folder and its
    parents; ``node_modules/leaflet`` beside this package's source tree.

    Parameters
    ----------
    leaflet
        A folder to use instead of the search.

    Returns
    -------
    dist
        The folder holding ``leaflet.js`` and ``leaflet.css``.

    Raises
    ------
    MissingDependencyError
        No copy is found; the message says how to get one.
    """
    from connectivity import settings

    if leaflet is not None:
        candidates = [Path(leaflet)]
    elif settings.leaflet_folder is not None:
        candidates = [Path(settings.leaflet_folder)]
    else:
        here = Path.cwd().resolve()
        candidates = [p / "node_modules" / "leaflet" for p in (here, *here.parents)]
        candidates.append(Path(__file__).resolve().parents[2] / "node_modules" / "leaflet")
    for folder in candidates:
        for dist in (folder / "dist", folder):
            if (dist / "leaflet.js").is_file() and (dist / "leaflet.css").is_file():
                return dist
    where = (
        str(candidates[0])
        if len(candidates) == 1
        else "node_modules/leaflet (in the working folder, its parents, or the project)"
    )
    raise MissingDependencyError(
        f"offline maps need a local copy of the npm package leaflet (dist/leaflet.js and "
        f"dist/leaflet.css), not found in {where}: run `npm install leaflet` in the project "
        f"folder, or set CONNECTIVITY_LEAFLET (or pass leaflet=) to the folder of a copy of "
        f"the package"
    )


def _leaflet_assets(dist: Path) -> tuple[str, str]:
    """Leaflet's JS and CSS, the CSS images inlined as data URIs."""
    js = (dist / "leaflet.js").read_text(encoding="utf-8")
    css = (dist / "leaflet.css").read_text(encoding="utf-8")

    def inline(match: re.Match[str]) -> str:
        image = dist / match.group(1)
        if not image.is_file():
            return "url()"
        data = base64.b64encode(image.read_bytes()).decode("ascii")
        mime = "image/svg+xml" if image.suffix == ".svg" else f"image/{image.suffix[1:]}"
        return f"url(data:{mime};base64,{data})"

    css = re.sub(r"url\(['\"]?(images/[^)'\"]+)['\"]?\)", inline, css)
    # A literal "</script>" inside the inlined code would end the element early.
    js = js.replace("</script", "<\\/script")
    return js, css


_EXTERNAL_SCRIPT = re.compile(
    r"<script\b[^>]*\bsrc\s*=\s*[\"'](?:https?:)?//[^\"']*[\"'][^>]*>\s*</script>\s*",
    re.IGNORECASE,
)
_EXTERNAL_LINK = re.compile(
    r"<link\b[^>]*\bhref\s*=\s*[\"'](?:https?:)?//[^\"']*[\"'][^>]*/?>\s*", re.IGNORECASE
)


#: Libraries folium and branca load from CDNs besides Leaflet, and what in a page calls
#: them: jQuery builds the content of folium's popups, d3 draws branca's colour scales.
#: Offline, each is inlined from the npm package beside ``leaflet`` when the page calls it.
OFFLINE_LIBRARIES: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("jquery", "dist/jquery.min.js", re.compile(r"\$\(")),
    ("d3", "d3.min.js", re.compile(r"\bd3\.")),
)


def _library(dist: Path, name: str, member: str) -> str:
    """The code of the npm package ``name`` installed beside Leaflet (``dist``)."""
    modules = dist.parent.parent if dist.name == "dist" else dist.parent
    path = modules / name / member
    if not path.is_file():
        raise MissingDependencyError(
            f"this offline map calls {name}, whose npm package is not beside leaflet "
            f"({path} is missing): run `npm install` in the project folder (package.json "
            f"lists it), or `npm install {name}` where leaflet is installed"
        )
    return path.read_text(encoding="utf-8").replace("</script", "<\\/script")


def _make_offline(page: str, dist: Path) -> str:
    js, css = _leaflet_assets(dist)
    page = _EXTERNAL_SCRIPT.sub("", page)
    page = _EXTERNAL_LINK.sub("", page)
    inlined = f"<style>{css}</style>\n<script>{js}</script>\n"
    for name, member, called in OFFLINE_LIBRARIES:
        if called.search(page):
            inlined += f"<script>{_library(dist, name, member)}</script>\n"
    head = re.search(r"<head[^>]*>", page, re.IGNORECASE)
    if head is None:
        return inlined + page
    return page[: head.end()] + "\n" + inlined + page[head.end() :]


# -- building maps -------------------------------------------------------------------


def add_legend(
    m: folium.Map,
    entries: Sequence[tuple[str, str]],
    *,
    title: str = "",
    opacity: float = FILL_OPACITY + 0.2,
    sections: Sequence[tuple[str, Sequence[tuple[str, str]]]] = (),
) -> None:
    """Add a legend box (bottom left) to a map.

    Parameters
    ----------
    m
        The map.
    entries
        ``(colour, label)`` pairs, one coloured square each; labels are escaped here.
    title
        A heading (escaped here); none when empty.
    opacity
        Opacity of the squares.
    sections
        More ``(title, entries)`` groups in the same box, below the first (one box per
        map, so that the legends of several layers do not cover each other).
    """
    groups = [(title, entries), *sections]
    m.get_root().add_child(_legend_element(groups, opacity))


def add_title(m: folium.Map, title: str, *, left: bool = False) -> None:
    """Add a title box (top centre, or with ``left`` in the left half, clear of a
    branca colour scale at the top right) to a map; the text is escaped here."""
    m.get_root().add_child(_title_element(title, left=left))


def _legend_element(groups: Sequence[tuple[str, Sequence[tuple[str, str]]]], opacity: float) -> Any:
    """A fixed box with coloured squares; labels and titles are escaped here."""
    from branca.element import MacroElement, Template

    body = ""
    for title, entries in groups:
        if title:
            body += f'<div class="connectivity-legend-title">{escape(title)}</div>'
        body += "".join(
            f'<div class="connectivity-legend-row"><span class="connectivity-legend-swatch" '
            f'style="background:{escape(colour)};opacity:{opacity:.2f}"></span>'
            f"{escape(label)}</div>"
            for colour, label in entries
        )
    element = MacroElement()
    element._template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
          .connectivity-legend { position: absolute; z-index: 1000; bottom: 56px;
            left: 12px; background: #ffffff; padding: 8px 10px; border-radius: 4px;
            border: 1px solid #888; font: 13px/1.4 sans-serif; color: #111;
            max-height: 70%; overflow-y: auto; }
          .connectivity-legend-title { font-weight: bold; margin-bottom: 4px; }
          .connectivity-legend-swatch { display: inline-block; width: 16px;
            height: 12px; margin-right: 6px; vertical-align: middle;
            border: 1px solid #555; }
        </style>
        {% endmacro %}
        {% macro html(this, kwargs) %}
        <div class="connectivity-legend" id="{{ this.get_name() }}">"""
        + body.replace("{", "&#123;").replace("}", "&#125;")
        + """</div>
        {% endmacro %}
        """
    )
    return element


def _title_element(title: str, *, left: bool = False) -> Any:
    from branca.element import MacroElement, Template

    text = escape(title).replace("{", "&#123;").replace("}", "&#125;")
    element = MacroElement()
    # The style travels with the title: a map with a title and no legend (the
    # bottleneck map) drew it unstyled, under the map, where nobody saw it.
    element._template = Template(
        """{% macro header(this, kwargs) %}<style>
          .connectivity-title { position: absolute; z-index: 1000; top: 10px;
            left: 50%; transform: translateX(-50%); background: #ffffff;
            padding: 4px 12px; border-radius: 4px; border: 1px solid #888;
            font: bold 15px sans-serif; color: #111; text-align: center; }
          .connectivity-title.left { left: 56px; transform: none; text-align: left;
            max-width: calc(50% - 80px); }
        </style>{% endmacro %}"""
        '{% macro html(this, kwargs) %}<div class="connectivity-title'
        + (" left" if left else "")
        + '">'
        + text
        + "</div>"
        # The controls of the top right corner (the layers, a colour scale) start below
        # the title: a long title and an open layer list overlapped, hiding both.
        + "<script>(function () { var t = document.currentScript.previousElementSibling;"
        " window.addEventListener('load', function () {"
        " var c = document.querySelector('.leaflet-top.leaflet-right');"
        " if (c) { c.style.top = (t.offsetTop + t.offsetHeight) + 'px'; } }); })();</script>"
        "{% endmacro %}"
    )
    return element


def _minutes(seconds: float) -> str:
    minutes = seconds / 60
    return f"{minutes:g}" if minutes == round(minutes, 2) else f"{minutes:.1f}"


def _blank_map(offline: bool) -> folium.Map:
    import folium

    m = folium.Map(
        tiles=None if offline else "OpenStreetMap",
        control_scale=True,
        prefer_canvas=False,
        # Quarter zoom steps, so that fitting the study area fills the page instead of
        # halving it at the next whole zoom level.
        zoom_snap=0.25,
        zoom_delta=0.5,
    )
    if offline:
        root: Any = m.get_root()
        root.header.add_child(
            folium.Element(
                f"<style>.leaflet-container {{ background: {OFFLINE_BACKGROUND}; }}</style>"
            )
        )
    return m


def add_marker(
    m: folium.Map, lat: float, lon: float, label: str, *, colour: str = "#e31a1c"
) -> None:
    """Draw a point (the origin, the core) as a circle marker with an escaped tooltip."""
    import folium

    folium.CircleMarker(
        [float(lat), float(lon)],
        radius=7,
        color="#000000",
        weight=2,
        fill=True,
        fill_color=colour,
        fill_opacity=1.0,
        tooltip=folium.Tooltip(escape(label)),
    ).add_to(m)


def _fit(m: folium.Map, geometries: Sequence[Any], point: tuple[float, float] | None) -> None:
    import shapely

    nonempty = [g for g in geometries if g is not None and not g.is_empty]
    if nonempty:
        minx, miny, maxx, maxy = shapely.union_all(nonempty).bounds
        m.fit_bounds([[miny, minx], [maxy, maxx]])
    elif point is not None:
        m.location = [float(point[0]), float(point[1])]
        m.options["zoom"] = 15


def stable_ids(root: Any) -> None:
    """Give every element under ``root`` an id derived from its place in the tree.

    folium (branca) names each element with a random ``uuid4`` (``map_1f0c...``), so the
    same map written twice gives different bytes. Here each element's id becomes the
    SHA-256 of its path from the root (child positions, in the order they were added)
    and its class, cut to the 32 hex digits folium uses: the same map makes the same
    page, and ids stay unique, as paths are. What folium derived from the old ids follows
    them: the keys a parent files its children under (a popup writes them as variable
    names), the content of popups (kept outside the children), and the layer-control
    name of a layer given none.

    Parameters
    ----------
    root
        A branca element, usually ``m.get_root()``; changed in place.
    """

    from branca.element import Element

    def visit(element: Any, path: str) -> None:
        digest = hashlib.sha256(f"{path}:{type(element).__name__}".encode()).hexdigest()
        old_id = getattr(element, "_id", None)
        element._id = digest[:32]
        layer_name = getattr(element, "layer_name", None)
        if old_id and isinstance(layer_name, str) and layer_name.endswith(f"_{old_id}"):
            # A layer given no name is listed in the layer control under the name its
            # element had when it was made (``macro_element_<id>``).
            element.layer_name = layer_name[: -len(old_id)] + element._id
        children = getattr(element, "_children", None)
        if children:
            # A parent keys its children by their names, and some templates (a popup's)
            # write those keys as variable names: a child keyed by its own old name is
            # keyed by its new one.
            rekeyed = {}
            for i, (key, child) in enumerate(list(children.items())):
                named = key == child.get_name()
                visit(child, f"{path}/{i}")
                rekeyed[child.get_name() if named else key] = child
            children.clear()
            children.update(rekeyed)
        # A popup (and a figure) keeps its content in the elements ``header``, ``html``
        # and ``script``, outside ``_children``: a popup's Html is named there.
        for part in ("header", "html", "script"):
            inner = getattr(element, part, None)
            if isinstance(inner, Element):
                visit(inner, f"{path}/{part}")

    visit(root, "")


def map_html(
    m: folium.Map, *, offline: bool | None = None, leaflet: str | Path | None = None
) -> str:
    """The map as a standalone HTML page.

    Parameters
    ----------
    m
        A folium map.
    offline
        Inline Leaflet and drop every ``<script src>`` / ``<link href>`` to the internet;
        default: as the map was made (``isochrone_map(..., offline=True)``), else not. A
        tile layer already on the map stays: it shows where there is a network, and the
        map draws without it where there is none.
    leaflet
        Folder of the npm package ``leaflet`` (see :func:`find_leaflet`).

    Returns
    -------
    html
        The page.

    Raises
    ------
    MissingDependencyError
        ``offline`` without a local copy of Leaflet.
    """
    made_offline = getattr(m, _OFFLINE_ATTR, None)
    if offline is None:
        offline = made_offline is not None
    root = m.get_root()
    stable_ids(root)
    page = root.render()
    if not offline:
        return page
    dist = find_leaflet(leaflet) if leaflet is not None or made_offline is None else made_offline
    return _make_offline(page, dist)


def save_map(
    m: folium.Map,
    path: str | Path,
    *,
    offline: bool | None = None,
    leaflet: str | Path | None = None,
) -> Path:
    """Write a map as an HTML page, atomically.

    Parameters
    ----------
    m
        A folium map (e.g. from :func:`isochrone_map`).
    path
        The ``.html`` file to write; its folder is created.
    offline
        As :func:`map_html`.
    leaflet
        As :func:`map_html`.

    Returns
    -------
    path
        The file written.
    """
    path = Path(path)
    write_text_atomic(path, map_html(m, offline=offline, leaflet=leaflet))
    log.info("wrote the map to %s", path)
    return path
