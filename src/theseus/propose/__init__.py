"""propose stage."""
