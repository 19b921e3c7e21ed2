"""CapaCITIES Knowledge Graph: build, validate, infer and query the Learning Portfolio as RDF."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("capacities-kg")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"
