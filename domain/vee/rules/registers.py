"""Register reads of a validation context, grouped by register and in time order."""

from __future__ import annotations

from domain.vee.series import RegisterRead, ValidationContext


def reads_by_register(context: ValidationContext) -> dict[str, list[RegisterRead]]:
    grouped: dict[str, list[RegisterRead]] = {}
    for read in sorted(context.registers, key=lambda read: read.read_at):
        grouped.setdefault(read.register, []).append(read)
    return grouped


def reads_of(context: ValidationContext, register: str) -> list[RegisterRead]:
    return reads_by_register(context).get(register, [])
