"""FastAPI's request-validation errors as OperationOutcome (README "Answers"): a body
that is JSON but not what the route takes is 422 with the field's path as the issue's
expression; a parameter, or a body that is no JSON, is 400; the OpenAPI schema says so."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from adapter.api import outcome


class _Item(BaseModel):
    id: str


class _Body(BaseModel):
    ending: int = Field(ge=0)
    items: list[_Item] = []


def _app() -> TestClient:
    app = FastAPI()
    outcome.install(app)

    @app.post("/accept")
    def accept(body: _Body) -> dict[str, int]:
        return {"ending": body.ending}

    @app.get("/days")
    def days(days: int) -> dict[str, int]:
        return {"days": days}

    return TestClient(app)


def _issues(answer: Any) -> list[tuple[str, list[str] | None]]:
    return [(i["code"], i.get("expression")) for i in answer.json()["issue"]]


def test_a_body_that_is_json_but_not_what_the_route_takes_is_422_naming_the_field() -> None:
    """A wrong type, a missing field, a nested field and a missing body: 422, each issue's
    expression the field's path in the body (`body` for no body at all)."""
    client = _app()
    wrong = client.post("/accept", json={"ending": "x"})
    assert (wrong.status_code, _issues(wrong)) == (422, [("invalid", ["ending"])])
    assert wrong.headers["content-type"].startswith("application/fhir+json")
    assert _issues(client.post("/accept", json={})) == [("invalid", ["ending"])]
    nested = client.post("/accept", json={"ending": 1, "items": [{"id": "a"}, {}]})
    assert (nested.status_code, _issues(nested)) == (422, [("invalid", ["items[1].id"])])
    missing = client.post("/accept")
    assert (missing.status_code, _issues(missing)) == (422, [("invalid", ["body"])])


def test_a_parameter_or_a_body_that_is_no_json_stays_400() -> None:
    """A query parameter of the wrong type and a body that is not JSON: 400."""
    client = _app()
    query = client.get("/days", params={"days": "many"})
    assert (query.status_code, _issues(query)) == (400, [("invalid", ["query.days"])])
    garbled = client.post(
        "/accept", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert garbled.status_code == 400


def test_the_schema_documents_422_as_an_operation_outcome_on_body_routes_only() -> None:
    """A route with a body documents 422 as OperationOutcome; one without documents no
    422; FastAPI's own HTTPValidationError is gone from the components."""
    schema = _app().app.openapi()  # type: ignore[attr-defined]
    accept = schema["paths"]["/accept"]["post"]["responses"]["422"]
    assert accept["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/OperationOutcome"
    }
    assert "422" not in schema["paths"]["/days"]["get"]["responses"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
