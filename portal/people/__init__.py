"""Public faculty profiles, fed from the group the faculty member keeps, and their editing."""
