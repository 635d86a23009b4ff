"""The JSON API at /api/v1/: personal access tokens, the same operations as the pages."""
