"""The sandbox's views: ShareID's API under flow/ (api.py), the SDK page (hosted.py) and the
sandbox-only control endpoints (control.py)."""
