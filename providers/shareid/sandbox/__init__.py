"""A local ShareID (providers/shareid/README.md, "Sandbox"), mounted at /sandbox/shareid/ when
KYC_SANDBOX_ENABLED."""
