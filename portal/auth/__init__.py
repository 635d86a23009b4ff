"""Authentication: login, logout, sessions and access rules."""
