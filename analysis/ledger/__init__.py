"""The trade ledger: schema, migrations, the outbox+mirror that never loses a trade, importers."""
