"""An external SPARQL 1.1 server as the store: queries over HTTP (httpx), loads through the Graph Store.

What the embedded engine guarantees holds here too:
- the same checks: kg.sparql.guard first, then Oxigraph's own parser and planner on an empty
  store (nothing is evaluated), so only standard SPARQL 1.1 with standard functions is
  forwarded: no vendor pragmas (Virtuoso's DEFINE), no extension functions, no updates;
- every forwarded request is sent as a query (`query=`), never as an update;
- the dataset is always explicit (default-graph-uri and named-graph-uri = the build's graphs,
  unless the client or the query names graphs), so answers match the embedded store's union
  default graph and nothing else in a shared store is visible;
- the same time budget (each request ends by its deadline, even against a store that trickles its
  answer a byte at a time) and the same row budget;
- named-query values are bound as RDF terms in a VALUES clause (SPARQL 1.1's own binding
  mechanism), serialised by Oxigraph, never formatted into the query by hand.

Credentials live in SecretStr settings; no message, log line or response carries them or the
store's URLs.

The modules, in the order a query flows through them: text (what is sent), client (the HTTP exchange,
over transport's deadline-bound connection pool; failures maps what goes wrong), answers (reading the
store's answer), engine (budgets, retries, cool-down).
"""

from kg.engines.remote.client import Account, StoreClient
from kg.engines.remote.engine import RemoteEngine
from kg.engines.remote.failures import Retryable
from kg.engines.remote.text import bind_values, check_standard_sparql, forwarded_text, portable_text

__all__ = [
    "Account",
    "RemoteEngine",
    "Retryable",
    "StoreClient",
    "bind_values",
    "check_standard_sparql",
    "forwarded_text",
    "portable_text",
]
