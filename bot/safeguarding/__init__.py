"""Safeguarding: recognising danger, and the hand-off to the right help."""
