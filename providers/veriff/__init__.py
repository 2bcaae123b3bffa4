from providers.veriff.provider import VeriffProvider

__all__ = ["VeriffProvider"]
