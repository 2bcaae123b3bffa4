from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0004_rejected_body_digest"),
    ]

    operations = [
        migrations.AddField(
            model_name="inboundevent",
            name="query",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
