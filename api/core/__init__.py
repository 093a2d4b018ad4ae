"""The application core: settings, the runtime (store, keys, services), the operations (each written
once, each writing one audit row), the audit log's sequencing, budgets and batching.

Nothing here imports an adapter (:mod:`api.http`, :mod:`api.cli`, :mod:`api.scan`)."""
