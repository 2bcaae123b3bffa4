"""The app's settings with ShareID served by the benchmark's stand-in client
(benchmarks/shareid_standin.py), for benchmarks/shareid_polling.py `--provider standin`."""

from config.settings import *  # noqa: F403
from config.settings import KYC_PROVIDERS

KYC_PROVIDERS = {
    **KYC_PROVIDERS,
    "shareid": ("benchmarks.shareid_standin.StandInShareID", KYC_PROVIDERS["shareid"][1]),
}
