from django.db import migrations, models


class Migration(migrations.Migration):
    # No backfill: a decision recorded before the list has its one reason_code, which
    # ProviderDecision.reasons reads when reason_codes is empty.
    dependencies = [
        ("kyc", "0016_decision_reason_code_longer"),
    ]

    operations = [
        migrations.AddField(
            model_name="providerdecision",
            name="reason_codes",
            field=models.JSONField(blank=True, default=list),
        ),
    ]
