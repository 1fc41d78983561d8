"""Running one batch: the passes and their recorded calls, interrupts, failures."""
