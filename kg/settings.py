"""One settings object, read from environment variables prefixed KG_ (see .env.example)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BASE_IRI = "https://w3id.org/capacities/lp/"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KG_", env_file=".env", extra="ignore")

    data_dir: Path = Field(PROJECT_ROOT / "data", description="sources/ and curation/ live here")
    ontology_dir: Path = Field(PROJECT_ROOT / "ontology", description="OWL ontology, Turtle")
    shapes_dir: Path = Field(PROJECT_ROOT / "shapes", description="SHACL shapes, Turtle")
    build_dir: Path = Field(PROJECT_ROOT / "build", description="build output; 'current' points at the latest build")
    base_iri: str = Field(DEFAULT_BASE_IRI, description="base of the ontology, shapes and instance IRIs")
    host: str = Field("127.0.0.1", description="address the server listens on")
    port: int = Field(8000, description="port the server listens on")
    query_timeout: float = Field(10.0, description="time budget of one SPARQL query, seconds")
    max_rows: int = Field(10_000, description="row (or triple) budget of one query result")
    http_workers: int = Field(1, description="server processes (each with its own query workers)")
    query_workers: int = Field(0, description="query worker processes per server process; 0: one per CPU, at least 2")
    worker_memory_mb: int = Field(2048, description="address-space limit of one query worker, MiB (0: none)")
    max_body_bytes: int = Field(1_000_000, description="largest request body accepted (413 beyond)")
    cache_entries: int = Field(2048, description="REST responses kept in the in-process cache")
    public_base_url: str = Field("", description="URL the API is reached at, for Link headers; default: from the request")

    @property
    def sources_dir(self) -> Path:
        return self.data_dir / "sources"

    @property
    def curation_dir(self) -> Path:
        return self.data_dir / "curation"


@lru_cache
def get_settings() -> Settings:
    return Settings()
