"""The application: settings, HTTP service, CLI."""
