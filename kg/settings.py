"""One settings object, read from environment variables prefixed KG_ (see .env.example)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _project_root() -> Path:
    """The checkout this package runs from; installed from a wheel, the working directory (where data/ is)."""
    checkout = Path(__file__).resolve().parent.parent
    return checkout if (checkout / "pyproject.toml").is_file() and (checkout / "ontology").is_dir() else Path.cwd()


PROJECT_ROOT = _project_root()
DEFAULT_BASE_IRI = "https://w3id.org/capacities/lp/"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KG_", env_file=".env", extra="ignore")

    data_dir: Path = Field(PROJECT_ROOT / "data", description="sources/ and curation/ live here")
    ontology_dir: Path = Field(PROJECT_ROOT / "ontology", description="OWL ontology, Turtle")
    shapes_dir: Path = Field(PROJECT_ROOT / "shapes", description="SHACL shapes, Turtle")
    build_dir: Path = Field(PROJECT_ROOT / "build", description="build output; 'current' points at the latest build")
    cache_dir: Path = Field(
        PROJECT_ROOT / ".cache",
        description="what a build may reuse from an earlier one (the ontology's page, by content); safe to delete",
    )
    state_dir: Path = Field(
        PROJECT_ROOT / "state",
        description="accounts, proposals, decisions, approved change sets and the audit log (SQLite); "
        "no build ever writes or removes anything here",
    )
    base_iri: str = Field(DEFAULT_BASE_IRI, description="base of the ontology, shapes and instance IRIs")
    host: str = Field("127.0.0.1", description="address the server listens on")
    port: int = Field(8000, description="port the server listens on")
    query_timeout: float = Field(10.0, description="time budget of one SPARQL query, seconds")
    max_rows: int = Field(10_000, description="row (or triple) budget of one query result")
    http_workers: int = Field(1, description="server processes (each with its own query workers)")
    query_workers: int = Field(0, description="query worker processes per server process; 0: one per CPU, at least 2")
    worker_store: Literal["auto", "disk", "memory"] = Field(
        "auto",
        description="disk: query workers share the release's read-only on-disk store (memory and start-up do not "
        "grow with the workers; each query reads through RocksDB, 2-8 times slower than from memory); memory: each "
        "worker loads its own copy (fastest; memory and start-up times the workers); auto: memory below "
        "KG_SHARED_STORE_QUADS quads, disk from there",
    )
    shared_store_quads: int = Field(
        250_000, description="with KG_WORKER_STORE=auto, the dataset size (quads) from which workers share one store"
    )
    worker_memory_mb: int = Field(
        2048,
        description="address-space limit of one query worker, MiB (0: none); with a shared store, on top of what "
        "opening the store reserves",
    )
    max_body_bytes: int = Field(1_000_000, description="largest request body accepted (413 beyond)")
    cache_entries: int = Field(2048, description="REST responses kept in the in-process cache")
    cache_bytes: int = Field(64 * 2**20, description="byte budget of the REST response cache")
    max_query_bytes: int = Field(100_000, description="largest SPARQL query text accepted, bytes (413 beyond)")
    max_answer_bytes: int = Field(64 * 2**20, description="byte budget of one query's answer (422 beyond)")
    guard_cache_bytes: int = Field(8 * 2**20, description="byte budget of the remembered verdicts on query texts")
    reload_interval: float = Field(
        2.0,
        description="seconds between checks for a new build to serve (0: never; "
        "SIGHUP or `capkg reload` still switch at once)",
    )
    trusted_proxies: str = Field(
        "127.0.0.1", description="addresses whose X-Forwarded-* headers are believed, comma-separated ('' for none)"
    )
    client_concurrency: int = Field(
        0, description="requests one client may have in flight at once; 0: half the query workers, at least 1"
    )
    client_rate: float = Field(20.0, description="requests a second one client may send on average (429 beyond)")
    client_burst: int = Field(60, description="requests one client may send at once before its rate counts")
    client_exempt: str = Field(
        "127.0.0.1,::1", description="client addresses the per-client limits do not apply to, comma-separated"
    )
    cpu_threads: int = Field(
        1, ge=1, le=32, description="threads for CPU-bound request work (searches, search and source pages) at once"
    )
    cpu_wait: float = Field(5.0, gt=0, description="seconds a search or page may wait for such a thread (503 beyond)")
    cpu_queue: int = Field(64, ge=1, description="searches and pages that may wait for such a thread (503 beyond)")
    # OpenID Connect sign-in on the site (api.routers.oidc), beside passwords. Empty issuer: off.
    oidc_issuer: str = Field(
        "",
        description="issuer URL of the OpenID provider (its discovery document is <issuer>/.well-known/"
        "openid-configuration); empty: OpenID Connect sign-in is off",
    )
    oidc_client_id: str = Field("", description="this site's client id at the OpenID provider")
    oidc_client_secret: SecretStr = Field(SecretStr(""), description="this site's client secret at the provider")
    oidc_name: str = Field(
        "your organisation's sign-in", description="the provider's name on the sign-in page's button"
    )
    oidc_username_claim: str = Field(
        "preferred_username", description="the claim holding the account name an existing account must have"
    )
    oidc_redirect_base: str = Field(
        "", description="public base URL of this site for the provider's callback; default: from the request"
    )
    proposals_per_hour: int = Field(60, ge=1, description="proposals one account may send an hour (429 beyond)")
    access_log: bool = Field(True, description="one line per request on the server's output")
    public_base_url: str = Field(
        "", description="URL the API is reached at, for Link headers; default: from the request"
    )

    # An external SPARQL 1.1 server instead of the embedded store (docs/remote-stores.md). Empty: embedded.
    store_query_url: str = Field("", description="SPARQL 1.1 query endpoint of an external store; empty: embedded")
    store_update_url: str = Field(
        "",
        description="SPARQL 1.1 update endpoint (the build's atomic switch); "
        "empty: graphs are replaced one by one through the Graph Store",
    )
    store_gsp_url: str = Field("", description="SPARQL 1.1 Graph Store HTTP Protocol endpoint the build loads into")
    store_user: str = Field("", description="account the build loads and updates with")
    store_password: SecretStr = Field(SecretStr(""), description="its password")
    store_read_user: str = Field("", description="account queries run with; empty: store_user")
    store_read_password: SecretStr = Field(SecretStr(""), description="its password")
    store_auth: str = Field("basic", description="HTTP authentication the store asks for: basic or digest")
    store_checkers: int = Field(
        2, description="processes that parse and plan query texts before they are sent to the store, per server"
    )
    store_connections: int = Field(8, description="queries in flight to the store at once, per server process")
    store_retries: int = Field(
        2,
        description="retries of a read after a connection failure or a 502/503, "
        "with backoff, within the query's time budget",
    )
    store_cooldown: float = Field(
        2.0, description="after the store was unreachable, seconds answered 503 at once before it is tried again"
    )
    store_load_timeout: float = Field(300.0, description="time budget of one Graph Store or update call of the build")

    @field_validator("store_query_url", "store_update_url", "store_gsp_url")
    @classmethod
    def _no_credentials_in_urls(cls, url: str) -> str:
        from urllib.parse import urlsplit

        if url and (urlsplit(url).username or urlsplit(url).password):
            # the message names the setting, never the URL: it carries a secret
            raise ValueError(
                "the URL carries credentials (user:password@); set KG_STORE_USER and "
                "KG_STORE_PASSWORD (or KG_STORE_READ_USER / KG_STORE_READ_PASSWORD) instead"
            )
        if url and urlsplit(url).scheme not in {"http", "https"}:
            raise ValueError("the store's URLs must be http:// or https:// URLs")
        return url

    @field_validator("store_auth")
    @classmethod
    def _known_auth(cls, scheme: str) -> str:
        if scheme.lower() not in {"basic", "digest"}:
            raise ValueError("must be basic or digest")
        return scheme.lower()

    @property
    def remote_store(self) -> bool:
        return bool(self.store_query_url)

    @property
    def sources_dir(self) -> Path:
        return self.data_dir / "sources"

    @property
    def curation_dir(self) -> Path:
        return self.data_dir / "curation"

    @property
    def ledger_file(self) -> Path:
        return self.state_dir / "ledger.sqlite3"


def load_settings(**values: Any) -> Settings:  # Any: pydantic validates and converts each value
    """Settings from the environment (and `values`), with errors that name the setting but never its value."""
    from kg.errors import SettingsError

    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"KG_{'_'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False)
        )
        raise SettingsError(problems) from None


@lru_cache
def get_settings() -> Settings:
    return load_settings()
