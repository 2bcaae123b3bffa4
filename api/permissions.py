"""Scopes: read, write, staff. An API key needs the scope an endpoint names; a logged-in staff
member needs the Django permissions that stand for it (their role's, as in the back-office)."""

from rest_framework import exceptions
from rest_framework.permissions import BasePermission

from api.models import ApiKey
from kyc.staff_session import staff_session_complete


class InsufficientScope(exceptions.PermissionDenied):
    default_code = "insufficient_scope"

    def __init__(self, scope: str):
        super().__init__(f"This API key does not have the '{scope}' scope.", code=self.default_code)


class StaffPermissionMissing(exceptions.PermissionDenied):
    default_code = "permission_denied"

    def __init__(self, scope: str):
        super().__init__(
            f"Your staff account lacks the permissions this '{scope}' endpoint needs.", code=self.default_code
        )


class _Scope(BasePermission):
    scope = ""
    # What a signed-in staff member needs instead of the scope: the same Django permissions the
    # back-office asks for, so the API never shows a person more than the admin would.
    staff_permissions: tuple[str, ...] = ()

    def has_permission(self, request, view) -> bool:
        if isinstance(request.auth, ApiKey):
            if request.auth.has_scope(self.scope):
                return True
            raise InsufficientScope(self.scope)
        # The staff session authentication asked the same; asked again here so that a view given
        # another authentication class cannot let half a sign-in through.
        if not staff_session_complete(request):
            return False
        if not request.user.has_perms(self.staff_permissions):
            raise StaffPermissionMissing(self.scope)
        return True


class ReadScope(_Scope):
    scope = ApiKey.Scope.READ
    staff_permissions = ("kyc.view_customer", "kyc.view_verificationsession")


class WriteScope(_Scope):
    scope = ApiKey.Scope.WRITE
    # Creating customers and starting verifications: what an analyst does on a case.
    staff_permissions = ("kyc.view_customer", "kyc.review_case")


class StaffScope(_Scope):
    scope = ApiKey.Scope.STAFF
    staff_permissions = ("kyc.view_customer", "kyc.view_verificationsession", "kyc.view_case")


def actor_of(request) -> dict:
    """The actor of a service call: the staff user, or the API key's label (a key is no person)."""
    if isinstance(request.auth, ApiKey):
        return {"actor": None, "actor_label": request.auth.actor_label}
    return {"actor": request.user, "actor_label": ""}


class PersonRequired(exceptions.PermissionDenied):
    default_code = "person_required"
    default_detail = (
        "Staff decisions are taken by people (four-eyes is between two of them): "
        "sign in to the back-office and call this with your session, not with an API key."
    )


class StaffPersonScope(StaffScope):
    """The staff scope, held by a signed-in staff member: an API key is refused even with `staff`."""

    requires_person = True

    def has_permission(self, request, view) -> bool:
        if isinstance(request.auth, ApiKey):
            super().has_permission(request, view)  # a key without the scope hears about the scope
            raise PersonRequired()
        return super().has_permission(request, view)
