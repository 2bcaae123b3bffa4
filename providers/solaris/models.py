"""What the app keeps of its Solaris webhook subscriptions (README.md here, "Subscriptions")."""

from django.db import models


class WebhookSubscription(models.Model):
    """One subscription of ours at Solaris: deliveries name it (Solaris-Webhook-Subscription-Id)
    and are signed with its secret, which Solaris shows once, when it is created. The secret is
    kept sealed (providers/solaris/sealing.py), never in clear, and is shown nowhere: this model
    has no admin, and `solaris_webhooks list` says only whether it can be opened."""

    subscription_id = models.CharField(max_length=100, unique=True)
    event_type = models.CharField(max_length=64)
    url = models.CharField(max_length=2000)
    sealed_secret = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["event_type", "created_at"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.subscription_id} → {self.url}"
