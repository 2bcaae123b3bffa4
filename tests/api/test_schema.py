"""The OpenAPI schema: what /api/schema/ serves is what the tests check, and everything is
documented (a summary per operation, a description per parameter, the errors, examples)."""

import pytest
import yaml
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db

SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
OPERATIONS = [
    (path, method, operation)
    for path, operations in SCHEMA["paths"].items()
    for method, operation in operations.items()
]


def test_the_served_schema_is_the_generated_one(api):
    response = api.get("/api/schema/")
    assert response.status_code == 200
    assert yaml.safe_load(response.content) == yaml.safe_load(yaml.safe_dump(SCHEMA))


@pytest.mark.parametrize(
    ("path", "method", "operation"), OPERATIONS, ids=[f"{m} {p}" for p, m, _ in OPERATIONS]
)
def test_every_operation_is_documented(path, method, operation):
    assert operation.get("summary"), "a summary"
    assert operation.get("tags"), "a tag"
    for parameter in operation.get("parameters", []):
        assert parameter.get("description") or parameter["name"] in ("format",), parameter["name"]
    for status in ("401", "403", "429", "500"):
        error = operation["responses"][status]["content"]["application/json"]
        assert error["schema"] == {"$ref": "#/components/schemas/Error"} and error["examples"]
    assert operation.get("security") == [{"ApiKeyAuth": []}, {"StaffSession": []}]


def test_creating_posts_document_idempotency_and_examples():
    creating = [op for _, m, op in OPERATIONS if m == "post" and "201" in op["responses"]]
    assert len(creating) >= 5
    for operation in creating:
        names = [p["name"] for p in operation["parameters"]]
        assert "Idempotency-Key" in names, operation["operationId"]
        assert {"409", "422"} <= set(operation["responses"])
        assert operation["responses"]["201"]["content"]["application/json"].get("examples") or operation[
            "requestBody"
        ]["content"]["application/json"].get("examples"), operation["operationId"]


def test_the_docs_page_uses_local_assets_only_and_nothing_inline(api):
    html = api.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/" in html
    assert "cdn" not in html.lower() and "https://" not in html
    # Nothing inline, for a strict Content-Security-Policy: the init script is a file of its own.
    assert "<style" not in html and "<script>" not in html
    script = api.get("/api/docs/?script=")
    assert script.status_code == 200 and b"SwaggerUIBundle" in script.content
