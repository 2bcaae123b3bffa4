"""The sandbox's views: Solaris's API (api.py), the IDnow-like hosted page (hosted.py) and the
sandbox-only control endpoints (control.py)."""
