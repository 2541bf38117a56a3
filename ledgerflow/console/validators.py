"""Shapes of the values the Rust services write, checked before staff edits reach the tables."""

import re

from django.core.exceptions import ValidationError

EVM_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
TRANSACTION_HASH = re.compile(r"0x[0-9a-fA-F]{64}")
DECIMAL_INTEGER = re.compile(r"[0-9]+")
# amount holds token base units: up to 78 digits (2**256 - 1 has 78).
AMOUNT_MAX_DIGITS = 78


def validate_evm_address(value):
    if not EVM_ADDRESS.fullmatch(value or ""):
        raise ValidationError(
            "Enter an EVM address: 0x followed by 40 hexadecimal digits.", code="evm_address"
        )


def validate_transaction_hash(value):
    if not TRANSACTION_HASH.fullmatch(value or ""):
        raise ValidationError(
            "Enter a transaction hash: 0x followed by 64 hexadecimal digits.",
            code="transaction_hash",
        )


def validate_amount(value):
    if not DECIMAL_INTEGER.fullmatch(value or ""):
        raise ValidationError(
            "Enter the amount as a non-negative whole number of token base units (digits only).",
            code="amount",
        )
    if len(value) > AMOUNT_MAX_DIGITS:
        raise ValidationError(
            f"An amount has at most {AMOUNT_MAX_DIGITS} digits.", code="amount_too_long"
        )


def validate_decimal_id(value):
    """Telegram ids stored as text (``accounts.telegram_id``, ``orders.account_id``)."""
    if not DECIMAL_INTEGER.fullmatch(value or ""):
        raise ValidationError("Enter a Telegram id: digits only.", code="decimal_id")
