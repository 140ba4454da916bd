"""dedup wing."""
