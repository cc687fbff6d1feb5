"""A picture of each zone: physical networks, traffic types and labels, providers, public
ranges and pods with their ranges, as Mermaid, Graphviz DOT or a standalone SVG.

Operators draw this by hand for every review; here it comes from the same State that plan
and drift use (the config, or the live cloud read through a target), so it cannot drift from
what cstool manages. Pure: a State in, text out.

`mermaid(state, highlight)` marks resources by key ("create", "update", "delete") so that a
Markdown plan or drift report can embed the picture with the changed parts coloured
(GitHub and GitLab render Mermaid in comments). A deleted resource is drawn only if the
state holds it: pass `with_removed(desired, live, keys)` to draw one the plan removes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from xml.sax.saxutils import escape as _xml_escape

from cstool.model.diff import present
from cstool.model.resources import Key, Resource, State

FORMATS = ("mermaid", "svg", "dot")
TRAFFIC_ORDER = ("Management", "Storage", "Guest", "Public")
# the class a highlight draws with, per change; "replace" is a change of the object
HIGHLIGHT_CLASS = {
    "create": "added",
    "update": "changed",
    "replace": "changed",
    "delete": "removed",
}
Highlight = Mapping[Key | str, str]

# --- what is drawn: a small view of each zone ------------------------------------------------


@dataclass
class Item:
    """One drawn box: a title and a few lines, for one resource (key) or a group (None)."""

    key: Key | None
    title: str
    lines: list[str] = field(default_factory=list)
    kind: str = ""  # traffic type carried (Management, Storage, Guest, Public) or ""
    also: tuple[Key, ...] = ()  # more resources drawn in this box (the providers)

    @property
    def keys(self) -> tuple[Key, ...]:
        return ((self.key,) if self.key is not None else ()) + self.also


@dataclass
class Network:
    key: Key
    title: str
    lines: list[str]
    traffic: list[Item]
    providers: Item | None


@dataclass
class Pod:
    key: Key
    title: str
    lines: list[str]
    ranges: list[Item]


@dataclass
class Zone:
    key: Key
    title: str
    lines: list[str]
    networks: list[Network]
    public: list[Item]
    pods: list[Pod]


def zones(state: State, highlight: Highlight | None = None) -> list[Zone]:
    """The view of every zone of `state` (absent entries left out), in config order."""
    marked = _marks(highlight)
    state = present(state)
    return [_zone(state, z, marked) for z in state.of_kind("zone")]


def _zone(state: State, zone: Resource, marked: Mapping[Key, str]) -> Zone:
    vals = zone.values
    sg = "security groups" if vals.get("security_groups") else ""
    lines = [_join(" · ", [str(vals.get("network_type") or ""), sg, _state(vals)])]
    if vals.get("guest_cidr"):
        lines.append(f"guest CIDR {vals['guest_cidr']}")
    networks = [_network(state, pn, marked) for pn in state.children(zone.key, "physical_network")]
    public = [_range(r, "Public") for r in state.children(zone.key, "public_range")]
    pods = [_pod(state, p) for p in state.children(zone.key, "pod")]
    return Zone(zone.key, f"Zone {zone.key.path[-1]}", lines, networks, public, pods)


def _network(state: State, pn: Resource, marked: Mapping[Key, str]) -> Network:
    vals = pn.values
    lines = [_join(" · ", [f"isolation {vals.get('isolation') or 'VLAN'}", _state(vals)])]
    if vals.get("vlan_ranges"):
        lines.append(f"guest VLANs {str(vals['vlan_ranges']).replace(',', ', ')}")
    if vals.get("tags"):
        lines.append(f"tag {', '.join(vals['tags'])}")
    if vals.get("speed"):
        lines.append(f"speed {vals['speed']}")
    traffic = sorted(
        state.children(pn.key, "traffic_type"),
        key=lambda t: TRAFFIC_ORDER.index(t.key.path[-1]),
    )
    items = [_traffic(t) for t in traffic]
    # enabled providers, and any the highlight names (a provider being disabled)
    shown = [
        p for p in state.children(pn.key, "provider") if p.values.get("enabled") or p.key in marked
    ]
    providers = None
    if shown:
        names = [p.key.path[-1] + ("" if p.values.get("enabled") else " (disabled)") for p in shown]
        providers = Item(None, "Providers", names, also=tuple(p.key for p in shown))
    return Network(pn.key, f"Physical network {pn.key.path[-1]}", lines, items, providers)


def _traffic(res: Resource) -> Item:
    labels = res.values.get("labels") or {}
    lines = [f"{hv}: {label}" for hv, label in labels.items() if label] or ["no label"]
    kind = res.key.path[-1]
    return Item(res.key, f"{kind} traffic", lines, kind)


def _pod(state: State, pod: Resource) -> Pod:
    vals = pod.values
    lines = []
    if vals.get("gateway") and vals.get("netmask"):
        net = ipaddress.IPv4Network(f"{vals['gateway']}/{vals['netmask']}", strict=False)
        lines.append(f"{net} · gateway {vals['gateway']}")
    if _state(vals):
        lines.append(_state(vals))
    ranges = [
        _range(r, kind)
        for sub, kind in (
            ("management_range", "Management"),
            ("storage_range", "Storage"),
            ("guest_range", "Guest"),
        )
        for r in state.children(pod.key, sub)
    ]
    return Pod(pod.key, f"Pod {pod.key.path[-1]}", lines, ranges)


def _range(res: Resource, kind: str) -> Item:
    vals = res.values
    start = res.key.path[-1]
    end = vals.get("end") or start
    details = []
    vlan = vals.get("vlan")
    if vlan not in (None, "untagged"):
        details.append(f"VLAN {vlan}")
    if vals.get("gateway") and vals.get("netmask"):
        prefix = ipaddress.IPv4Network(f"0.0.0.0/{vals['netmask']}").prefixlen
        details.append(f"gw {vals['gateway']}/{prefix}")
    if vals.get("for_system_vms"):
        details.append("system VMs")
    lines = [_join(" · ", details)] if details else []
    return Item(res.key, f"{kind} {start} – {end}", lines, kind)


def _state(vals: Mapping[str, object]) -> str:
    return "disabled" if vals.get("enabled") is False else ""


def _join(sep: str, parts: Iterable[str]) -> str:
    return sep.join(p for p in parts if p)


def _marks(highlight: Highlight | None) -> dict[Key, str]:
    """Highlight keys as Keys (a string is Key.to_str's form, `pod:lab1/pod1`)."""
    out: dict[Key, str] = {}
    for key, action in (highlight or {}).items():
        if action not in HIGHLIGHT_CLASS:
            raise ValueError(f"highlight {key}: {action!r} is not one of {sorted(HIGHLIGHT_CLASS)}")
        out[key if isinstance(key, Key) else Key.from_str(key)] = action
    return out


def _class_of(marked: Mapping[Key, str], keys: Iterable[Key]) -> str | None:
    """The highlight class of a box drawing `keys` (the first marked one)."""
    for key in keys:
        if key in marked:
            return HIGHLIGHT_CLASS[marked[key]]
    return None


def with_removed(desired: State, live: State, keys: Iterable[Key]) -> State:
    """The desired state plus the live resources of `keys` it lacks (what a plan deletes),
    with their parents, so that a picture can show them highlighted as removed."""
    out = State(desired)
    out.cloud = desired.cloud
    wanted = set()
    for key in keys:
        while key not in desired and key in live:
            wanted.add(key)
            if key.kind == "zone" or key.kind == "setting":
                break
            key = key.parent()
    for key, res in live.items():  # live order keeps parents before children
        if key in wanted:
            out.add(res)
    return out


def zones_only(state: State, config: State) -> State:
    """`state` limited to the zones `config` names (a live cloud holds others too)."""
    names = {r.key.path[0] for r in config.of_kind("zone")}
    return State({k: r for k, r in state.items() if k.zone in names})


def render(fmt: str, state: State, highlight: Highlight | None = None) -> str:
    """The picture of `state` in one of FORMATS."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown graph format {fmt!r} (one of {', '.join(FORMATS)})")
    drawer = {"mermaid": mermaid, "svg": svg, "dot": dot}[fmt]
    return drawer(state, highlight)


# --- Mermaid -------------------------------------------------------------------------------

# classDef colours: GitHub's diff palette, readable in light and dark themes
_MERMAID_CLASSES = {
    "added": "fill:#dafbe1,stroke:#1a7f37,stroke-width:3px,color:#0d1117",
    "changed": "fill:#fff8c5,stroke:#9a6700,stroke-width:3px,color:#0d1117",
    "removed": "fill:#ffebe9,stroke:#cf222e,stroke-width:3px,stroke-dasharray:6 3,color:#0d1117",
}
_SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:/_-+=@()")


def mermaid_text(text: str) -> str:
    """A label Mermaid shows as written: every character outside a plain set becomes an
    entity code (#34; for a quote), so quotes, brackets, `#`, `;`, `<`, backticks and
    keywords such as `end` can never end the label or start markup."""
    return "".join(c if c in _SAFE else f"#{ord(c)};" for c in text)


def _mermaid_label(title: str, lines: list[str]) -> str:
    body = "<br/>".join(mermaid_text(t) for t in [title, *lines])
    return f'["{body}"]'


class _Ids:
    """Short ids (n0, n1, ...) per resource: names may be any text, ids may not."""

    def __init__(self) -> None:
        self.of: dict[Key, str] = {}
        self.count = 0

    def new(self, *keys: Key | None) -> str:
        ident = f"n{self.count}"
        self.count += 1
        for key in keys:
            if key is not None:
                self.of[key] = ident
        return ident


def mermaid(state: State, highlight: Highlight | None = None) -> str:
    """A Mermaid flowchart: a subgraph per zone, physical network and pod; dotted links from
    each traffic type to the ranges it carries. Highlighted keys get the classes added,
    changed or removed."""
    marked = _marks(highlight)
    ids = _Ids()
    out = ["flowchart TB"]
    links: list[str] = []
    for zone in zones(state, highlight):
        out += _mermaid_zone(zone, ids, links)
    out += links
    out += [f"  classDef {name} {style}" for name, style in _MERMAID_CLASSES.items()]
    for cls in _MERMAID_CLASSES:
        members = sorted(
            {ids.of[k] for k, a in marked.items() if HIGHLIGHT_CLASS[a] == cls and k in ids.of},
            key=lambda ident: int(ident[1:]),
        )
        if members:
            out.append(f"  class {','.join(members)} {cls}")
    return "\n".join(out) + "\n"


def _mermaid_zone(zone: Zone, ids: _Ids, links: list[str]) -> list[str]:
    out = [f"  subgraph {ids.new(zone.key)}{_mermaid_label(zone.title, zone.lines)}"]
    out.append("    direction TB")
    carriers: dict[str, str] = {}
    for net in zone.networks:
        out.append(f"    subgraph {ids.new(net.key)}{_mermaid_label(net.title, net.lines)}")
        out.append("      direction LR")
        for item in net.traffic:
            node = ids.new(item.key)
            carriers[item.kind] = node
            out.append(f"      {node}{_mermaid_label(item.title, item.lines)}")
        if net.providers is not None:
            node = ids.new(*net.providers.keys)
            out.append(f"      {node}{_mermaid_label('Providers', net.providers.lines)}")
        out.append("    end")
    for item in zone.public:
        node = ids.new(item.key)
        out.append(f"    {node}{_mermaid_label(item.title, item.lines)}")
        _link(links, carriers, item.kind, node)
    for pod in zone.pods:
        out.append(f"    subgraph {ids.new(pod.key)}{_mermaid_label(pod.title, pod.lines)}")
        for item in pod.ranges:
            node = ids.new(item.key)
            out.append(f"      {node}{_mermaid_label(item.title, item.lines)}")
            _link(links, carriers, item.kind, node)
        out.append("    end")
    out.append("  end")
    return out


def _link(links: list[str], carriers: Mapping[str, str], kind: str, node: str) -> None:
    # storage ranges use the management network when there is no Storage traffic
    carrier = carriers.get(kind) or (carriers.get("Management") if kind == "Storage" else None)
    if carrier is not None:
        links.append(f"  {carrier} -.- {node}")


# --- Graphviz DOT --------------------------------------------------------------------------

_DOT_COLOURS = {"added": "#1a7f37", "changed": "#9a6700", "removed": "#cf222e"}


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def _dot_label(title: str, lines: list[str]) -> str:
    return '"' + "\\n".join(_dot_text(t) for t in [title, *lines]) + '"'


def dot(state: State, highlight: Highlight | None = None) -> str:
    """Graphviz DOT: a cluster per zone, physical network and pod."""
    marked = _marks(highlight)
    ids = _Ids()
    out = [
        "digraph cloud {",
        "  rankdir=TB; compound=true;",
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="sans-serif"];',
        '  edge [style=dotted, arrowhead=none, color="#8c959f"];',
    ]
    links: list[str] = []

    def style(keys: tuple[Key, ...]) -> str:
        cls = _class_of(marked, keys)
        if cls is None:
            return ""
        dashed = ', style="rounded,filled,dashed"' if cls == "removed" else ""
        return f', color="{_DOT_COLOURS[cls]}", penwidth=3{dashed}'

    def node(item: Item, indent: str) -> str:
        ident = ids.new(*item.keys)
        label = _dot_label(item.title, item.lines)
        out.append(f"{indent}{ident} [label={label}{style(item.keys)}];")
        return ident

    def cluster(key: Key, title: str, lines: list[str], indent: str) -> None:
        ident = ids.new(key)
        out.append(f"{indent}subgraph cluster_{ident} {{")
        colour = _DOT_COLOURS.get(_class_of(marked, (key,)) or "", "#57606a")
        out.append(f'{indent}  label={_dot_label(title, lines)}; color="{colour}";')

    for zone in zones(state, highlight):
        cluster(zone.key, zone.title, zone.lines, "  ")
        carriers: dict[str, str] = {}
        for net in zone.networks:
            cluster(net.key, net.title, net.lines, "    ")
            for item in net.traffic:
                carriers[item.kind] = node(item, "      ")
            if net.providers is not None:
                node(net.providers, "      ")
            out.append("    }")
        for item in zone.public:
            _link_dot(links, carriers, item.kind, node(item, "    "))
        for pod in zone.pods:
            cluster(pod.key, pod.title, pod.lines, "    ")
            for item in pod.ranges:
                _link_dot(links, carriers, item.kind, node(item, "      "))
            out.append("    }")
        out.append("  }")
    return "\n".join([*out, *links, "}"]) + "\n"


def _link_dot(links: list[str], carriers: Mapping[str, str], kind: str, node: str) -> None:
    carrier = carriers.get(kind) or (carriers.get("Management") if kind == "Storage" else None)
    if carrier is not None:
        links.append(f"  {carrier} -> {node};")


# --- SVG -----------------------------------------------------------------------------------

# one colour per traffic type: a range in a pod wears the colour of the traffic carrying it
TRAFFIC_COLOURS = {
    "Management": "#0969da",
    "Storage": "#8250df",
    "Guest": "#1a7f37",
    "Public": "#bc4c00",
}
_SVG_HIGHLIGHT = {"added": "#1a7f37", "changed": "#9a6700", "removed": "#cf222e"}
FONT = 13  # px
LINE = 18  # px between lines
CHAR = 7.4  # px: a generous average width of a sans-serif character at FONT
PAD = 10
GAP = 14
MAX_WIDTH = 1360


def _text_width(text: str, bold: bool = False) -> float:
    return len(text) * CHAR * (1.08 if bold else 1.0)


@dataclass
class _Card:
    """A titled box of lines: measured once, drawn at a place."""

    item: Item
    colour: str
    width: float = 0.0
    height: float = 0.0

    def __post_init__(self) -> None:
        widths = [_text_width(self.item.title, True), *map(_text_width, self.item.lines)]
        self.width = max(widths) + 2 * PAD + 6
        self.height = LINE * (1 + len(self.item.lines)) + PAD


class _Svg:
    """Collects SVG elements; every text is escaped here and nowhere else."""

    def __init__(self, marked: Mapping[Key, str]) -> None:
        self.parts: list[str] = []
        self.marked = marked

    def text(self, x: float, y: float, content: str, **attrs: str) -> None:
        extra = "".join(f' {k.replace("_", "-")}="{_attr(v)}"' for k, v in attrs.items())
        self.parts.append(f'<text x="{x:.0f}" y="{y:.0f}"{extra}>{_xml_escape(content)}</text>')

    def rect(
        self, x: float, y: float, w: float, h: float, keys: tuple[Key, ...], **attrs: str
    ) -> None:
        cls = _class_of(self.marked, keys)
        if cls is not None:
            attrs.update(stroke=_SVG_HIGHLIGHT[cls], stroke_width="3", **{"class": cls})
            if cls == "removed":
                attrs["stroke_dasharray"] = "6 3"
        extra = "".join(f' {k.replace("_", "-")}="{_attr(v)}"' for k, v in attrs.items())
        self.parts.append(
            f'<rect x="{x:.0f}" y="{y:.0f}" width="{w:.0f}" height="{h:.0f}" rx="6"{extra}/>'
        )

    def card(self, card: _Card, x: float, y: float) -> None:
        self.rect(x, y, card.width, card.height, card.item.keys, fill="#ffffff", stroke="#d0d7de")
        self.parts.append(
            f'<rect x="{x:.0f}" y="{y:.0f}" width="5" height="{card.height:.0f}" '
            f'fill="{card.colour}"/>'
        )
        self.text(x + PAD + 4, y + LINE, card.item.title, font_weight="bold", fill=card.colour)
        for i, line in enumerate(card.item.lines, start=2):
            self.text(x + PAD + 4, y + LINE * i, line, fill="#1f2328")


def _attr(value: str) -> str:
    return _xml_escape(value, {'"': "&quot;"})


def _flow(cards: list[_Card], width: float) -> list[list[_Card]]:
    """Cards in rows no wider than `width` (at least one card per row)."""
    rows: list[list[_Card]] = [[]]
    used = 0.0
    for card in cards:
        if rows[-1] and used + card.width > width:
            rows.append([])
            used = 0.0
        rows[-1].append(card)
        used += card.width + GAP
    return [r for r in rows if r]


def _rows_height(rows: list[list[_Card]]) -> float:
    return sum(max(c.height for c in row) + GAP for row in rows)


def _place(svg: _Svg, rows: list[list[_Card]], x: float, y: float) -> float:
    for row in rows:
        cx = x
        for card in row:
            svg.card(card, cx, y)
            cx += card.width + GAP
        y += max(c.height for c in row) + GAP
    return y


def svg(state: State, highlight: Highlight | None = None) -> str:
    """A standalone SVG: per zone a box with a lane per physical network (its traffic types
    and providers), the public ranges, then the pods; a legend of colours at the end."""
    marked = _marks(highlight)
    canvas = _Svg(marked)
    inner = MAX_WIDTH - 4 * PAD
    y = float(PAD)
    for zone in zones(state, highlight):
        y = _svg_zone(canvas, zone, y, inner) + GAP
    y = _legend(canvas, y, bool(marked))
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{MAX_WIDTH}" height="{y:.0f}" '
        f'viewBox="0 0 {MAX_WIDTH} {y:.0f}" font-family="sans-serif" font-size="{FONT}">'
    )
    title = "<title>cstool graph: " + _xml_escape(
        ", ".join(z.key.path[-1] for z in state.of_kind("zone"))
    )
    body = [head, title + "</title>", '<rect width="100%" height="100%" fill="#f6f8fa"/>']
    return "\n".join([*body, *canvas.parts, "</svg>"]) + "\n"


def _svg_zone(canvas: _Svg, zone: Zone, top: float, inner: float) -> float:
    x0 = PAD
    start = len(canvas.parts)
    y = top + LINE + PAD
    canvas.text(x0 + PAD, y, zone.title, font_weight="bold", font_size=str(FONT + 5))
    head_x = x0 + PAD + _text_width(zone.title, True) * 1.35 + GAP
    canvas.text(head_x, y, " · ".join(zone.lines), fill="#57606a")
    y += GAP
    lane_x = x0 + PAD
    label_w = 250.0
    for net in zone.networks:
        y = _svg_lane(canvas, net, lane_x, y, inner, label_w) + GAP
    if zone.public:
        cards = [_Card(i, TRAFFIC_COLOURS["Public"]) for i in zone.public]
        y = _section(canvas, "Public ranges", cards, lane_x, y, inner)
    if zone.pods:
        y = _svg_pods(canvas, zone.pods, lane_x, y, inner)
    box = _Svg(canvas.marked)
    box.rect(x0, top, inner + 2 * PAD, y - top, (zone.key,), fill="#ffffff", stroke="#57606a")
    canvas.parts[start:start] = box.parts  # drawn first: beneath its contents
    return y


def _section(canvas: _Svg, title: str, cards: list[_Card], x: float, y: float, w: float) -> float:
    canvas.text(x, y + LINE - 4, title, font_weight="bold", fill="#57606a")
    return _place(canvas, _flow(cards, w), x, y + LINE + 2)


def _svg_lane(canvas: _Svg, net: Network, x: float, y: float, w: float, label_w: float) -> float:
    cards = [_Card(t, TRAFFIC_COLOURS.get(t.kind, "#57606a")) for t in net.traffic]
    if net.providers is not None:
        cards.append(_Card(net.providers, "#57606a"))
    rows = _flow(cards, w - label_w - 2 * PAD)
    label_h = LINE * (1 + len(net.lines)) + PAD
    height = max(_rows_height(rows) - GAP, label_h) + 2 * PAD
    canvas.rect(x, y, w, height, (net.key,), fill="#eaeef2", stroke="#afb8c1")
    canvas.text(x + PAD, y + PAD + LINE - 2, net.title, font_weight="bold")
    for i, line in enumerate(net.lines, start=1):
        canvas.text(x + PAD, y + PAD + LINE * (i + 1) - 2, line, fill="#424a53")
    _place(canvas, rows, x + label_w, y + PAD)
    return y + height


def _svg_pods(canvas: _Svg, pods: list[Pod], x: float, y: float, w: float) -> float:
    canvas.text(x, y + LINE - 4, "Pods", font_weight="bold", fill="#57606a")
    y += LINE + 2
    boxes = []
    for pod in pods:
        cards = [_Card(r, TRAFFIC_COLOURS.get(r.kind, "#57606a")) for r in pod.ranges]
        head = [pod.title, *pod.lines]
        inner = max([_text_width(t, True) for t in head] + [c.width for c in cards])
        for card in cards:  # one column of equal cards reads as a list
            card.width = inner
        width = inner + 2 * PAD
        height = LINE * len(head) + PAD + sum(c.height + 8 for c in cards) + PAD
        boxes.append((pod, cards, width, height))
    cx, row_h = x, 0.0
    for pod, cards, width, height in boxes:
        if cx > x and cx + width > x + w:
            cx, y, row_h = x, y + row_h + GAP, 0.0
        canvas.rect(cx, y, width, height, (pod.key,), fill="#f6f8fa", stroke="#57606a")
        canvas.text(cx + PAD, y + LINE, pod.title, font_weight="bold")
        for i, line in enumerate(pod.lines, start=2):
            canvas.text(cx + PAD, y + LINE * i, line, fill="#424a53")
        cy = y + LINE * (1 + len(pod.lines)) + PAD
        for card in cards:
            canvas.card(card, cx + PAD, cy)
            cy += card.height + 8
        cx += width + GAP
        row_h = max(row_h, height)
    return y + row_h + GAP


def _legend(canvas: _Svg, y: float, highlighted: bool) -> float:
    x = float(PAD)
    canvas.text(x, y + LINE - 4, "Colours:", font_weight="bold", fill="#57606a")
    x += 70
    entries = [(f"{t} traffic and its ranges", c) for t, c in TRAFFIC_COLOURS.items()]
    if highlighted:
        entries += list(_SVG_HIGHLIGHT.items())
    for name, colour in entries:
        canvas.parts.append(
            f'<rect x="{x:.0f}" y="{y + 4:.0f}" width="12" height="12" fill="{colour}"/>'
        )
        canvas.text(x + 18, y + LINE - 4, name, fill="#1f2328")
        x += 18 + _text_width(name) + 2 * GAP
    return y + LINE + 2 * PAD
