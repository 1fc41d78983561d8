"""Screens pushed over the main debugger view (help, breakpoints)."""
