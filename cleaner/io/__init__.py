"""io wing."""
