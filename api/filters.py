"""Filters of the API's lists."""

import datetime as dt

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField


class _InRangeIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date and time that exists in UTC too: 0001-01-01T00:30+01:00 parses, and then
    overflows when the database adapter converts it (a 500 instead of a 400)."""

    def clean(self, value):
        try:
            value = super().clean(value)
            if value is not None:
                value.astimezone(dt.UTC)
        except OverflowError:
            raise forms.ValidationError("The date and time is out of range.", code="invalid") from None
        return value


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = _InRangeIsoDateTimeField
