"""Solaris (solarisBank): KYC through person identifications (README.md here).

A Django app (label `solaris`) for its webhook subscriptions; the provider is
`providers.solaris.provider.SolarisProvider`. Nothing is imported here, so that the app can load
before the registry is ready.
"""
