"""Data for the back-office: the roles (groups with their permissions), the list of review
reasons, the review queue for sessions decided before it existed, and the hash chain over audit
entries written before the chain existed."""

import datetime as dt
import hashlib
import json

from django.contrib.auth.management import create_permissions
from django.db import migrations

# Every back-office role reads the cases.
READ_CASES = [
    ("kyc", "view_customer"),
    ("kyc", "view_verificationsession"),
    ("kyc", "view_case"),
    ("kyc", "view_attempt"),
    ("kyc", "view_providerdecision"),
    ("kyc", "view_media"),  # the evidence itself; every view is audited
    ("kyc", "view_review"),
    ("kyc", "view_reviewreason"),
]
ROLES = {
    # Works the queue: assigns cases to self, proposes final decisions, contacts the customer.
    "Analyst": [*READ_CASES, ("kyc", "review_case")],
    # Also confirms (or rejects) other people's overrides, assigns cases to others, reads the audit.
    "Supervisor": [
        *READ_CASES,
        ("kyc", "review_case"),
        ("kyc", "confirm_override"),
        ("kyc", "reassign_case"),
        ("kyc", "view_auditevent"),
    ],
    # Reads everything, changes nothing.
    "Auditor": [
        *READ_CASES,
        ("kyc", "view_auditevent"),
        ("kyc", "export_audit"),
        ("webhooks", "view_inboundevent"),
        ("auth", "view_user"),
        ("auth", "view_group"),
    ],
}

# code, label, outcome it can justify ("" = any)
REASONS = [
    ("manual-document-check-passed", "Document and face checked manually: genuine", "approve"),
    (
        "additional-evidence-received",
        "Additional evidence received (video call, proof of address)",
        "approve",
    ),
    ("provider-concern-resolved", "Provider's concern resolved (false positive)", "approve"),
    ("suspected-fraud", "Suspected fraud or forged document", "decline"),
    ("identity-mismatch", "Person does not match our customer record", "decline"),
    ("sanctions-pep-match", "Sanctions or PEP match confirmed", "decline"),
    ("outside-risk-appetite", "Outside our risk appetite (policy)", "decline"),
    ("age-requirement-not-met", "Does not meet the age requirement", "decline"),
    ("repeated-failed-attempts", "Repeated failed or fraudulent attempts", "decline"),
    ("photos-unusable", "Photos unusable (blur, glare, cropped)", "request_resubmission"),
    ("document-expired", "Document expired", "request_resubmission"),
    ("document-not-accepted", "Document type not accepted", "request_resubmission"),
    ("other", "Other (explained in the note)", ""),
]


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations (post_migrate); the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codename in perms:
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


def create_reasons(apps, schema_editor):
    ReviewReason = apps.get_model("kyc", "ReviewReason")
    for position, (code, label, outcome) in enumerate(REASONS):
        ReviewReason.objects.get_or_create(
            code=code, defaults={"label": label, "outcome": outcome, "position": position * 10}
        )


def queue_existing_sessions(apps, schema_editor):
    """The sessions already decided that the review policy sends to a person: each customer's
    latest, in a policy status (no staff decision exists yet). The rule as in
    kyc.reviews.queue_state, on the historical models."""
    from django.db.models import Exists, OuterRef, Q
    from django.db.models.functions import Coalesce

    from kyc.reviews.policy import requires_review_q

    Session = apps.get_model("kyc", "VerificationSession")
    newer = Session.objects.filter(customer=OuterRef("customer")).filter(
        Q(created_at__gt=OuterRef("created_at")) | Q(created_at=OuterRef("created_at"), pk__gt=OuterRef("pk"))
    )
    Session.objects.filter(requires_review_q()).filter(~Exists(newer)).update(
        queued_at=Coalesce("decided_at", "status_changed_at", "created_at")
    )


def seal_existing_audit_events(apps, schema_editor):
    """Chain the entries written before the chain existed (a copy of kyc.audit's canonical form:
    a migration must not change when that module does)."""
    AuditEvent = apps.get_model("kyc", "AuditEvent")
    previous = "0" * 64
    for event in AuditEvent.objects.order_by("id").iterator():
        content = {
            "created_at": event.created_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "actor_id": event.actor_id,
            "actor_label": event.actor_label,
            "action": event.action,
            "customer_id": event.customer_id,
            "session_id": event.session_id,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "before": event.before,
            "after": event.after,
            "prev_hash": previous,
        }
        digest = hashlib.sha256(
            json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        ).hexdigest()
        # The model's save() refuses updates (append-only); sealing is the one-time exception.
        AuditEvent.objects.filter(pk=event.pk).update(prev_hash=previous, hash=digest)
        previous = digest


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("webhooks", "0001_initial"),
        ("kyc", "0005_backoffice"),
    ]

    operations = [
        migrations.RunPython(create_roles, migrations.RunPython.noop),
        migrations.RunPython(create_reasons, migrations.RunPython.noop),
        migrations.RunPython(queue_existing_sessions, migrations.RunPython.noop),
        migrations.RunPython(seal_existing_audit_events, migrations.RunPython.noop),
    ]
