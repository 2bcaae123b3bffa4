"""Helpers shared by the integration and browser suites: the live stack (app + worker) and waits."""
