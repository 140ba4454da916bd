"""run wing."""
