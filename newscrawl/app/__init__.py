"""The app: commands, the composition root, the embedded engine, the demo and its local web."""
