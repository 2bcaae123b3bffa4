"""Case comments (a thread beside the decision note) and the permission to export the queue and
case files, given to the Supervisor and Auditor roles (analysts work cases; they do not take
them out of the back-office)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

EXPORT_ROLES = ("Supervisor", "Auditor")
EXPORT_PERMISSION = ("kyc", "export_case")


def grant_export(apps, schema_editor):
    # Permissions are normally created after all migrations (post_migrate); the groups need it now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    app_label, codename = EXPORT_PERMISSION
    permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
    if permission is None:
        return
    for group in Group.objects.filter(name__in=EXPORT_ROLES):
        group.permissions.add(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("kyc", "0010_risk_flags_and_screening"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="case",
            options={
                "permissions": [("export_case", "Can export the review queue (CSV) and case files (ZIP)")],
                "verbose_name": "case",
                "verbose_name_plural": "review queue",
            },
        ),
        migrations.CreateModel(
            name="CaseComment",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("body", models.TextField()),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "author",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "customer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="case_comments",
                        to="kyc.customer",
                    ),
                ),
                (
                    "session",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="comments",
                        to="kyc.verificationsession",
                    ),
                ),
            ],
            options={
                "ordering": ["created_at", "id"],
                "indexes": [models.Index(fields=["customer", "created_at"], name="comment_customer_time")],
            },
        ),
        migrations.RunPython(grant_export, migrations.RunPython.noop),
    ]
