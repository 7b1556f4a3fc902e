"""lineage stage."""
