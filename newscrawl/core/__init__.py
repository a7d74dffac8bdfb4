"""The foundation: settings, errors, logging, metrics, Redis key names, URL rules, shared records and the
component interfaces. It imports nothing from the roles or the app above it."""
