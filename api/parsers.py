"""The API's JSON parser: DRF's, with the inputs that made it crash (a 500) refused as malformed.

Python's json reads `1e999` as infinity, which no field can hold and PostgreSQL's jsonb refuses,
and reads nesting by recursion, so a body nested some thousand levels deep raised RecursionError.
Both are answered like any other unreadable body: 400 `malformed_request` (api/errors.py), as is
text that cannot be encoded at all.
"""

from __future__ import annotations

import codecs
import json
import math

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.settings import api_settings
from rest_framework.utils.json import strict_constant


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"Number out of range: {text[:20]}")
    return value


def _check(data, max_depth: int) -> None:
    """Refuse lists and objects nested deeper than `max_depth`, and text that no UTF-8 store can
    hold: an unpaired surrogate, which JSON can spell (\\ud800) and Python reads into a string
    that then fails to encode, deep in a query. Walked without recursion."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if not _is_utf8(value):
                raise ParseError("JSON parse error - text with an unpaired surrogate.")
            continue
        if isinstance(value, dict):
            value = [*value.keys(), *value.values()]
        elif not isinstance(value, list):
            continue
        if depth > max_depth:
            raise ParseError(f"JSON parse error - nested deeper than {max_depth} levels.")
        stack.extend((item, depth + 1) for item in value)


def _is_utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


class ApiJSONParser(JSONParser):
    # No request the API defines nests a tenth as deep; a serializer, the error format and the
    # audit trail all walk what they are given by recursion.
    max_depth = 32

    def parse(self, stream, media_type=None, parser_context=None):
        decoded = codecs.getreader(get_encoding(parser_context or {}))(stream)
        try:
            data = json.load(
                decoded,
                parse_constant=strict_constant if api_settings.STRICT_JSON else None,
                parse_float=_finite_float,
            )
        except ValueError as exc:  # also bad UTF-8, and numbers with too many digits
            raise ParseError(f"JSON parse error - {exc}") from None
        except RecursionError:
            raise ParseError(f"JSON parse error - nested deeper than {self.max_depth} levels.") from None
        _check(data, self.max_depth)
        return data
