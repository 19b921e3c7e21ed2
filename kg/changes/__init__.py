"""Changes and versions: partners propose, editors review, approved change sets become part of the build.

In the order a change flows: `accounts` (who may do what), `ledger` (proposals, decisions, change sets
and the audit log, in SQLite), `proposal` (reading what a contributor sends), `model` (a change set's
triples), `gate` (SHACL on the change and what it touches), `patch` (minting IRIs, provenance, RDF Patch).
"""
