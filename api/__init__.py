"""HTTP: the SPARQL 1.1 endpoint and the REST API over the built knowledge graph."""
