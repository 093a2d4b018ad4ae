"""C2PA manifests, signing credentials, trust and the manifest store (the provenance issue)."""
