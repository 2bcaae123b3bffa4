from django.apps import AppConfig


class KycConfig(AppConfig):
    name = "kyc"
    verbose_name = "KYC"

    def ready(self):
        from kyc import checks  # noqa: F401  (registers the deployment checks)
