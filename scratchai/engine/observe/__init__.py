"""Watching training: probes, the step records, the monitor that runs the rules, validation."""
