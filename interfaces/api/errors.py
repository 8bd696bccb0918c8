"""Domain and application failures as JSON answers with the right status code."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from application.errors import ConcurrentEdit, DuplicateKey, UnknownAggregate
from application.security import AuthenticationFailed
from domain.attributes import InvalidAttributes
from domain.channel_day import BlockOutOfDay, EstimateLocked
from domain.command_types import InvalidCommandParameters
from domain.device_command import CommandStateError
from domain.provenance import InvalidProvenance
from domain.register_month import InvalidRegisterRead
from domain.registered import RegistryRuleViolation
from domain.user import UserRuleViolation
from domain.vee.reason_codes import UnknownReasonCode


def error_body(status: int, message: str, **detail: object) -> JSONResponse:
    return JSONResponse({"error": message, "status": status, **detail}, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(UnknownAggregate)
    async def unknown(_: Request, error: UnknownAggregate) -> JSONResponse:
        return error_body(404, str(error))

    @app.exception_handler(DuplicateKey)
    async def duplicate(_: Request, error: DuplicateKey) -> JSONResponse:
        return error_body(409, str(error))

    @app.exception_handler(ConcurrentEdit)
    async def conflict(_: Request, error: ConcurrentEdit) -> JSONResponse:
        return error_body(409, str(error))

    @app.exception_handler(InvalidAttributes)
    async def invalid(_: Request, error: InvalidAttributes) -> JSONResponse:
        return error_body(422, f"invalid attributes: {error}", problems=error.problems)

    for rule_error in (
        RegistryRuleViolation,
        InvalidProvenance,
        BlockOutOfDay,
        EstimateLocked,
        UnknownReasonCode,
        InvalidRegisterRead,
        UserRuleViolation,
        CommandStateError,
        InvalidCommandParameters,
    ):

        @app.exception_handler(rule_error)
        async def refused(_: Request, error: Exception) -> JSONResponse:
            return error_body(422, str(error))

    @app.exception_handler(RequestValidationError)
    async def malformed(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {"where": ".".join(str(part) for part in item["loc"]), "problem": item["msg"]}
            for item in error.errors()
        ]
        summary = "; ".join(f"{p['where']}: {p['problem']}" for p in problems)
        return error_body(422, f"invalid request: {summary}", problems=problems)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, error: HTTPException) -> JSONResponse:
        response = error_body(error.status_code, str(error.detail))
        for name, value in (error.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(AuthenticationFailed)
    async def unauthenticated(_: Request, error: AuthenticationFailed) -> JSONResponse:
        response = error_body(401, str(error))
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
