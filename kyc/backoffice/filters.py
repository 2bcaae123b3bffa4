"""List filters for the review queue and the audit log."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import admin
from django.core.cache import cache
from django.db.models import Q

from kyc.models import Customer, ProviderDecision
from kyc.services.assignment import assignable_users
from providers import registry


class DateRangeFilter(admin.FieldListFilter):
    """From / to dates (inclusive) typed by the user, not only "today / past 7 days"."""

    template = "admin/kyc/date_range_filter.html"

    def __init__(self, field, request, params, model, model_admin, field_path):
        self.lookup_gte = f"{field_path}__date__gte"
        self.lookup_lte = f"{field_path}__date__lte"
        super().__init__(field, request, params, model, model_admin, field_path)
        self.values = {}
        for lookup in (self.lookup_gte, self.lookup_lte):
            raw = self.used_parameters.get(lookup)
            value = raw[-1] if isinstance(raw, list) else raw
            try:
                self.values[lookup] = dt.date.fromisoformat(value) if value else None
            except ValueError:
                self.values[lookup] = None  # a bad date is ignored, not a 500
                self.used_parameters.pop(lookup, None)

    def expected_parameters(self):
        return [self.lookup_gte, self.lookup_lte]

    def queryset(self, request, queryset):
        q = Q()
        for lookup, value in self.values.items():
            if value:
                q &= Q(**{lookup: value})
        return queryset.filter(q)

    def choices(self, changelist):
        keep = {
            k: v[-1] if isinstance(v, list) else v
            for k, v in changelist.get_filters_params().items()
            if k not in self.expected_parameters()
        }
        if changelist.query:
            keep["q"] = changelist.query
        yield {
            "gte_name": self.lookup_gte,
            "lte_name": self.lookup_lte,
            "gte": self.values.get(self.lookup_gte) or "",
            "lte": self.values.get(self.lookup_lte) or "",
            "hidden": sorted(keep.items()),
            "clear_url": changelist.get_query_string(remove=self.expected_parameters()),
            "selected": any(self.values.values()),
        }


class AssigneeFilter(admin.SimpleListFilter):
    title = "assignee"
    parameter_name = "assignee"

    def lookups(self, request, model_admin):
        return [
            ("me", "Assigned to me"),
            ("none", "Unassigned"),
            ("others", "Assigned to others"),
            *((str(u.pk), u.get_username()) for u in assignable_users()),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "me":
            return queryset.filter(assignee=request.user)
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if value == "others":
            return queryset.filter(assignee__isnull=False).exclude(assignee=request.user)
        if value and value.isdigit():
            return queryset.filter(assignee_id=int(value))
        return queryset


class ReasonCodeFilter(admin.SimpleListFilter):
    """The provider's reason code of the decision that stands, explained in words."""

    title = "provider reason code"
    parameter_name = "reason_code"

    # The codes that occur come from a DISTINCT over every decision, too slow for every queue page
    # at scale (benchmarks/backoffice.py); they change rarely, so they are cached like the
    # dashboard's figures (KYC_DASHBOARD_CACHE_SECONDS).
    CACHE_KEY = "kyc:backoffice:reason-codes"

    def lookups(self, request, model_admin):
        codes = cache.get_or_set(self.CACHE_KEY, self._codes_in_use, settings.KYC_DASHBOARD_CACHE_SECONDS)
        seen, choices = set(), []
        for provider, code in codes:
            if code in seen:
                continue
            seen.add(code)
            explained = registry.explain_reason(provider, code)
            choices.append((code, f"{code} — {explained}" if explained else code))
        return choices

    @staticmethod
    def _codes_in_use() -> list[tuple[str, str]]:
        return list(
            ProviderDecision.objects.exclude(reason_code="")
            .values_list("session__provider", "reason_code")
            .distinct()
            .order_by("reason_code")
        )

    def queryset(self, request, queryset):
        return queryset.filter(reason_code=self.value()) if self.value() else queryset


class CountryFilter(admin.SimpleListFilter):
    """The customers' countries. Django's own filter for a field's values runs a DISTINCT over
    every customer on every list page, too slow at scale (benchmarks/backoffice.py); the
    countries in use change rarely, so they are cached like the reason codes."""

    title = "country"
    parameter_name = "country"
    field = "country"  # what the list's rows are filtered on
    CACHE_KEY = "kyc:backoffice:countries"

    def lookups(self, request, model_admin):
        countries = cache.get_or_set(
            self.CACHE_KEY, self._countries_in_use, settings.KYC_DASHBOARD_CACHE_SECONDS
        )
        return [(country, country) for country in countries]

    @staticmethod
    def _countries_in_use() -> list[str]:
        return list(
            Customer.objects.exclude(country="")
            .values_list("country", flat=True)
            .distinct()
            .order_by("country")
        )

    def queryset(self, request, queryset):
        return queryset.filter(**{self.field: self.value()}) if self.value() else queryset


class CustomerCountryFilter(CountryFilter):
    """The country of the case's customer (the review queue)."""

    parameter_name = field = "customer__country"


class ProviderFilter(admin.SimpleListFilter):
    """The configured providers, without a SELECT DISTINCT over every session to find them."""

    title = "provider"
    parameter_name = "provider"

    def lookups(self, request, model_admin):
        return registry.provider_choices()

    def queryset(self, request, queryset):
        return queryset.filter(provider=self.value()) if self.value() else queryset


class AwaitingConfirmationFilter(admin.SimpleListFilter):
    title = "four-eyes"
    parameter_name = "awaiting"

    def lookups(self, request, model_admin):
        return [("yes", "Awaiting a second person"), ("no", "Nothing awaiting")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(awaiting_confirmation=True)
        if self.value() == "no":
            return queryset.filter(awaiting_confirmation=False)
        return queryset
