"""The identifier check stands in for models.E034 with PostgreSQL's real limit."""

from django.apps import apps
from django.db import models

from ledgerflow.checks import check_identifier_lengths


def test_the_legacy_names_pass():
    assert check_identifier_lengths() == []


def test_a_name_over_63_bytes_is_an_error():
    class Meta:
        app_label = "orders"
        db_table = "too_long_names"
        indexes = [models.Index(fields=["ref"], name="idx_" + "x" * 60)]

    model = type(
        "TooLongNames",
        (models.Model,),
        {
            "__module__": "orders.models",
            "ref": models.IntegerField(),
            "Meta": Meta,
        },
    )
    try:
        errors = [e for e in check_identifier_lengths() if e.obj is model]
    finally:
        del apps.all_models["orders"]["toolongnames"]
        apps.clear_cache()

    assert [error.id for error in errors] == ["ledgerflow.E001"]
    assert "64 bytes" in errors[0].msg
