"""Parse every Turtle file of ontology/ and shapes/ and every SPARQL query of the registry: seconds, not a build.

Exit 1 with the file and the parser's message (line and column) for the first file of each kind that fails.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyoxigraph as ox

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    problems = []
    for folder in ("ontology", "shapes"):
        for path in sorted((ROOT / folder).rglob("*.ttl")):
            try:
                ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)
            except SyntaxError as exc:
                problems.append(f"{path.relative_to(ROOT)}: {exc}")
    for path in sorted((ROOT / "kg" / "sparql" / "queries").rglob("*.rq")):
        try:
            ox.Store().query(path.read_text(encoding="utf-8"))
        except SyntaxError as exc:
            problems.append(f"{path.relative_to(ROOT)}: {exc}")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
