from rest_framework.pagination import CursorPagination


class ApiCursorPagination(CursorPagination):
    """Opaque cursors (stable under inserts, unlike page numbers), newest first by default."""

    ordering = "-created_at"
    page_size = 25
    page_size_query_param = "limit"
    max_page_size = 100
