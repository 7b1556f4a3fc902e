"""The `theseus` command: one module per area, loaded lazily so `theseus --help` is fast."""
