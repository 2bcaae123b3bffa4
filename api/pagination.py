"""Lists: opaque cursors (stable under inserts, unlike page numbers), strict parameters (a bad
`limit`, `cursor` or `ordering` is a 400 that says so, not silently ignored)."""

import datetime as dt

import django_filters
from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions
from rest_framework.filters import OrderingFilter
from rest_framework.pagination import CursorPagination


class ApiCursorPagination(CursorPagination):
    ordering = "-created_at"
    page_size = 25
    page_size_query_param = "limit"
    max_page_size = 100

    def paginate_queryset(self, queryset, request, view=None):
        self._model = queryset.model  # for decode_cursor, which is not given the queryset
        repeated = [
            name
            for name in (self.page_size_query_param, self.cursor_query_param)
            if len(request.query_params.getlist(name)) > 1
        ]
        if repeated:
            raise exceptions.ValidationError({name: ["Give this parameter once."] for name in repeated})
        return super().paginate_queryset(queryset, request, view)

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise exceptions.ValidationError(
                {"limit": [f"Must be a whole number from 1 to {self.max_page_size}."]}
            )
        return int(raw)

    invalid_cursor_message = "This cursor is not valid: use the next or previous URL as given."

    def decode_cursor(self, request):
        """DRF's, and the position checked too: DRF takes it as it comes and filters the ordering
        field by it, so a hand-made cursor (`p=garbage`, a date before year 1 in UTC, a NUL)
        crashed the query (500) instead of being refused like any other invalid cursor."""
        cursor = super().decode_cursor(request)
        if cursor is None or cursor.position is None:
            return cursor
        field = self._model._meta.get_field(self.ordering[0].lstrip("-"))
        try:
            position = field.to_python(cursor.position)
            if "\x00" in cursor.position:
                raise ValueError("NUL")
            if isinstance(position, dt.datetime):
                # Our cursors carry an aware time; the database wants it in UTC.
                if timezone.is_naive(position):
                    raise ValueError("naive")
                position.astimezone(dt.UTC)
        except (DjangoValidationError, ValueError, TypeError, OverflowError):
            raise exceptions.NotFound(self.invalid_cursor_message) from None
        return cursor

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                    "default": self.page_size,
                }
                parameter["description"] = f"Page size (1 to {self.max_page_size}, default {self.page_size})."
            if parameter["name"] == self.cursor_query_param:
                parameter["description"] = "Opaque; take it from the `next` or `previous` URL of a page."
        return parameters


MAX_ID = 2**63 - 1


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.NumberFilter):
    """An object id: a whole number (django-filter's NumberFilter would take 1.5 or 1e185)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class StrictFilterBackend(DjangoFilterBackend):
    """An empty filter value (`?status=`) is refused like any other invalid one."""

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            errors = {}
            for name, declared in filterset_class.base_filters.items():
                values = request.query_params.getlist(name)
                if name in request.query_params and not any(values):
                    errors[name] = ["This filter needs a value."]
                elif len(values) > 1 and not isinstance(declared, django_filters.MultipleChoiceFilter):
                    errors[name] = ["Give this filter once."]
            if errors:
                raise exceptions.ValidationError(errors)
        return super().filter_queryset(request, queryset, view)


class StrictOrderingFilter(OrderingFilter):
    """`ordering=created_at` (oldest first) or `-created_at`; anything else is refused."""

    def _allowed(self, view) -> list[str]:
        fields = getattr(view, "ordering_fields", None) or []
        return [value for field in fields for value in (field, f"-{field}")]

    def get_ordering(self, request, queryset, view):
        raw = request.query_params.get(self.ordering_param)
        if raw is None:
            return self.get_default_ordering(view)
        if len(request.query_params.getlist(self.ordering_param)) > 1:
            raise exceptions.ValidationError({self.ordering_param: ["Give this parameter once."]})
        allowed = self._allowed(view)
        terms = [term.strip() for term in raw.split(",")]
        if not terms or any(term not in allowed for term in terms):
            raise exceptions.ValidationError({"ordering": [f"Must be one of: {', '.join(allowed)}."]})
        return terms

    def get_schema_operation_parameters(self, view):
        allowed = self._allowed(view)
        if not allowed:
            return []
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": "Sort order: a field, or `-field` for descending (default: newest first).",
                "schema": {"type": "string", "enum": allowed},
            }
        ]
