"""``scratchtui exercise``: the Net Architect lesson as graded exercises (build it yourself)."""
