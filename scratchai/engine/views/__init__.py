"""Views of a model for the front ends: plain data computed by the engine, drawn by the TUI."""

from scratchai.engine.views.registry import (
    Registration,
    RegistryLog,
    recorded,
    recording_registrations,
)

__all__ = ["Registration", "RegistryLog", "recorded", "recording_registrations"]
