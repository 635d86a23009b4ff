"""The Django admin peer of `make bench`: a changelist of the same 30 group members as /group."""
