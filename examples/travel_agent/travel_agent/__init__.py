"""Example travel-booking assistant: a language model picks a tool, this harness runs it."""
