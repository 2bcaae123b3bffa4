"""Solaris (solarisBank): KYC through person identifications (README.md here).

For now only the sandbox lives here (`sandbox/`); the app-side provider follows on the re-cut
provider interface.
"""
