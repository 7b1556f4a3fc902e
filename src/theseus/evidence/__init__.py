"""Evidence: what the running agent did, and where it went wrong."""
