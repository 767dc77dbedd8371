"""The error tree renders one RFC 9457 shape naming fields."""

from __future__ import annotations

from schemas.errors import AppError, ModelLoadFailed, ModelNotFound, NotFound, RequestInvalid


def test_field_error_names_the_field() -> None:
    problem = ModelNotFound.for_field(["body", "model"], "unknown model 'x'").to_problem()
    assert problem.status == 422
    assert problem.code == "unknown_model"
    assert problem.type.endswith("/unknown_model")
    assert problem.errors[0].loc == ["body", "model"]
    assert problem.detail == "unknown model 'x'"


def test_tree_statuses() -> None:
    assert issubclass(ModelNotFound, RequestInvalid)
    assert issubclass(ModelLoadFailed, AppError)
    assert NotFound("gone").to_problem().status == 404
    assert ModelLoadFailed("bad").to_problem().model_dump()["errors"] == []
