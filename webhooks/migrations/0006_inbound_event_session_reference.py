from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0005_inbound_event_query"),
    ]

    operations = [
        migrations.AddField(
            model_name="inboundevent",
            name="session_reference",
            field=models.CharField(blank=True, db_default="", default="", max_length=64),
        ),
    ]
