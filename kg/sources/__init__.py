"""Sources: read the portfolio, website and partners-map text extractions into plain records.

Nothing here knows RDF; every record carries the line span it was read from.
"""
