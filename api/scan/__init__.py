"""Batch scans: sources (folders, manifests, Parquet), the per-item check, local and Ray engines,
the Parquet results table and the scan report; adapters over :mod:`api.core`."""
