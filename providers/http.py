"""What every provider's HTTP client shares: a `requests` session that retries what is safe to
retry, and the reading of the ISO 8601 timestamps their answers carry.

GET only: a POST that timed out may have made a session, a person or an identification at the
provider, and sending it again would make a second one. Connection errors and 5xx answers are
retried a few times with a short backoff; anything longer is the task's retry (kyc.services.retries).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry


def retrying_session(user_agent: str) -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = user_agent
    retry = Retry(
        total=3,
        connect=3,
        read=2,
        backoff_factor=0.5,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=frozenset({"GET"}),
        raise_on_status=False,
    )
    adapter = HTTPAdapter(max_retries=retry, pool_maxsize=10)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def environment_read_once(session: requests.Session, url: str) -> None:
    """Read the proxy and CA-bundle environment (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE, …) for
    `url` now, with requests' own rules, and stop `session` from reading it again at every call,
    which is a large part of a small call's CPU (benchmarks/README.md). For a client whose calls
    all go to one host, in a process whose environment does not change; ~/.netrc is no longer read
    (the calls carry their own credentials)."""
    from_env = session.merge_environment_settings(url, {}, None, None, None)
    session.proxies.update(from_env["proxies"])
    session.verify = from_env["verify"]
    session.cert = from_env["cert"]
    session.trust_env = False


def parse_time(value: Any) -> dt.datetime | None:
    """A provider's ISO 8601 timestamp ("…Z" too), aware; None for anything else."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
