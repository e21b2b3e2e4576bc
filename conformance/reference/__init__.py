"""The embedded reference server: an Elasticsearch-like trained-model deployment API."""
