"""Make the map of Europe the pages draw: api/views/static/map/europe.json, from npm `world-atlas`.

Run once (the output is committed; nothing here runs at build or serve time):

    python scripts/vendor-map.py            # npm pack world-atlas@2.0.2, convert countries-50m.json
    python scripts/vendor-map.py FILE.json  # or convert a countries-*.json already at hand

It decodes the TopoJSON (quantised, delta-encoded arcs), projects every ring with the Lambert azimuthal
equal-area projection centred on Europe (10° E, 52° N), clips it to a frame around Europe, simplifies it
(Douglas-Peucker, half a unit of the 1000-unit-wide frame) and writes one SVG path string per country,
keyed by ISO 3166-1 alpha-2 code. world-atlas is ISC-licensed (© Michael Bostock), made from Natural
Earth's public-domain 1:50m Admin 0 countries.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "2.0.2"
OUT = Path(__file__).resolve().parent.parent / "api" / "views" / "static" / "map" / "europe.json"
WIDTH = 1000.0
CENTRE = (10.0, 52.0)  # longitude, latitude of the projection's centre
FRAME = (-1.75e6, -2.3e6, 3.0e6, 2.2e6)  # x0, y0 (north), x1, y1 (south) in projected metres
TOLERANCE = 0.5

# ISO 3166-1 numeric → alpha-2 for the countries drawn in the frame (world-atlas ids are the numeric codes)
ALPHA2 = {
    "008": "AL", "012": "DZ", "020": "AD", "031": "AZ", "040": "AT", "051": "AM", "056": "BE", "070": "BA",
    "100": "BG", "112": "BY", "191": "HR", "196": "CY", "203": "CZ", "208": "DK", "233": "EE", "234": "FO",
    "246": "FI", "248": "AX", "250": "FR", "268": "GE", "275": "PS", "276": "DE", "300": "GR", "304": "GL",
    "336": "VA", "348": "HU", "352": "IS", "364": "IR", "368": "IQ", "372": "IE", "376": "IL", "380": "IT",
    "400": "JO", "422": "LB", "428": "LV", "434": "LY", "438": "LI", "440": "LT", "442": "LU", "470": "MT",
    "492": "MC", "498": "MD", "499": "ME", "504": "MA", "528": "NL", "578": "NO", "616": "PL", "620": "PT",
    "642": "RO", "643": "RU", "674": "SM", "682": "SA", "688": "RS", "703": "SK", "705": "SI", "724": "ES",
    "752": "SE", "756": "CH", "760": "SY", "788": "TN", "792": "TR", "804": "UA", "807": "MK", "818": "EG",
    "826": "GB", "831": "GG", "832": "JE", "833": "IM",
}  # fmt: skip
BY_NAME = {"Kosovo": "XK"}  # no numeric code in ISO 3166; XK is the code the EU uses

Point = tuple[float, float]


def laea(lon: float, lat: float) -> Point:
    """Lambert azimuthal equal-area on a sphere of the Earth's mean radius; y grows southwards (SVG)."""
    r = 6371008.8
    lam, phi = math.radians(lon - CENTRE[0]), math.radians(lat)
    phi0 = math.radians(CENTRE[1])
    k = math.sqrt(2 / (1 + math.sin(phi0) * math.sin(phi) + math.cos(phi0) * math.cos(phi) * math.cos(lam)))
    x = r * k * math.cos(phi) * math.sin(lam)
    y = r * k * (math.cos(phi0) * math.sin(phi) - math.sin(phi0) * math.cos(phi) * math.cos(lam))
    return x, -y


def clip(ring: list[Point], box: tuple[float, float, float, float]) -> list[Point]:
    """Sutherland-Hodgman: the ring cut to the frame (a closed polygon stays closed)."""
    x0, y0, x1, y1 = box
    edges = [
        (lambda p: p[0] >= x0, lambda a, b: (x0, a[1] + (b[1] - a[1]) * (x0 - a[0]) / (b[0] - a[0]))),
        (lambda p: p[0] <= x1, lambda a, b: (x1, a[1] + (b[1] - a[1]) * (x1 - a[0]) / (b[0] - a[0]))),
        (lambda p: p[1] >= y0, lambda a, b: (a[0] + (b[0] - a[0]) * (y0 - a[1]) / (b[1] - a[1]), y0)),
        (lambda p: p[1] <= y1, lambda a, b: (a[0] + (b[0] - a[0]) * (y1 - a[1]) / (b[1] - a[1]), y1)),
    ]
    for inside, cut in edges:
        if not ring:
            break
        out: list[Point] = []
        for i, b in enumerate(ring):
            a = ring[i - 1]
            if inside(b):
                if not inside(a):
                    out.append(cut(a, b))
                out.append(b)
            elif inside(a):
                out.append(cut(a, b))
        ring = out
    return ring


def simplify(points: list[Point], tolerance: float) -> list[Point]:
    """Douglas-Peucker, iterative."""
    if len(points) < 3:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (ax, ay), (bx, by) = points[first], points[last]
        length = math.hypot(bx - ax, by - ay)
        worst, index = 0.0, first
        for i in range(first + 1, last):
            px, py = points[i]
            if length == 0:
                distance = math.hypot(px - ax, py - ay)
            else:
                distance = abs((bx - ax) * (ay - py) - (ax - px) * (by - ay)) / length
            if distance > worst:
                worst, index = distance, i
        if worst > tolerance:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def decode_arcs(topology: dict) -> list[list[Point]]:
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def ring_points(indices: list[int], arcs: list[list[Point]]) -> list[Point]:
    points: list[Point] = []
    for i in indices:
        arc = arcs[i] if i >= 0 else arcs[~i][::-1]
        points.extend(arc if not points else arc[1:])
    return points


def path(topology: dict, geometry: dict, arcs: list[list[Point]]) -> str:
    polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
    x0, y0, x1, _ = FRAME
    scale = WIDTH / (x1 - x0)
    parts = []
    for polygon in polygons:
        for ring in polygon:
            projected = [laea(lon, lat) for lon, lat in ring_points(ring, arcs)]
            cut = clip(projected, FRAME)
            screen = simplify([((x - x0) * scale, (y - y0) * scale) for x, y in cut], TOLERANCE)
            rounded: list[tuple[float, float]] = []
            for x, y in screen:
                point = (round(x, 1), round(y, 1))
                if not rounded or rounded[-1] != point:
                    rounded.append(point)
            if len(rounded) < 3:
                continue
            parts.append("M" + "L".join(f"{x:g},{y:g}" for x, y in rounded) + "Z")
    return "".join(parts)


def source_file(argv: list[str], work: Path) -> Path:
    if argv:
        return Path(argv[0])
    subprocess.run(["npm", "pack", "--silent", f"world-atlas@{VERSION}"], cwd=work, check=True, capture_output=True)
    with tarfile.open(work / f"world-atlas-{VERSION}.tgz") as archive:
        archive.extract("package/countries-50m.json", work, filter="data")
    return work / "package" / "countries-50m.json"


def main(argv: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        topology = json.loads(source_file(argv, Path(folder)).read_text(encoding="utf-8"))
    arcs = decode_arcs(topology)
    countries: dict[str, dict[str, str]] = {}
    others: list[str] = []
    for geometry in topology["objects"]["countries"]["geometries"]:
        if geometry["type"] not in ("Polygon", "MultiPolygon"):
            continue
        d = path(topology, geometry, arcs)
        if not d:
            continue
        name = geometry["properties"]["name"]
        code = ALPHA2.get(geometry.get("id", "")) or BY_NAME.get(name)
        if code:
            countries[code] = {"name": name, "d": d}
        else:
            others.append(d)  # drawn, not linked (e.g. Northern Cyprus, which has no ISO code)
    x0, y0, x1, y1 = FRAME
    height = round((y1 - y0) * WIDTH / (x1 - x0), 1)
    document = {
        "source": f"world-atlas {VERSION} (npm), countries-50m.json, from Natural Earth 1:50m Admin 0 countries",
        "licence": "world-atlas: ISC licence, © 2013-2019 Michael Bostock; Natural Earth: public domain",
        "projection": f"Lambert azimuthal equal-area centred on {CENTRE[0]}° E {CENTRE[1]}° N, clipped, simplified",
        "viewBox": f"0 0 {WIDTH:g} {height:g}",
        "countries": dict(sorted(countries.items())),
        "others": others,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{len(countries)} countries, {OUT.stat().st_size} bytes → {OUT}")


if __name__ == "__main__":
    main(sys.argv[1:])
