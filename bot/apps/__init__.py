"""The app and game guide: the catalogue, recognising apps and ages in text, and the answers."""
