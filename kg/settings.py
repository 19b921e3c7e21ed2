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

    @property
    def sources_dir(self) -> Path:
        return self.data_dir / "sources"

    @property
    def curation_dir(self) -> Path:
        return self.data_dir / "curation"


@lru_cache
def get_settings() -> Settings:
    return Settings()
