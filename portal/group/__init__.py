"""A faculty member's own research group."""
