"""Error pages and error reports without database passwords."""

from django.views import debug
from django.views.debug import SafeExceptionReporterFilter

from ledgerflow.health.masking import mask_secrets


class ExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter hides settings named like secrets (``DATABASES``' ``PASSWORD``) but shows
    ``DATABASE_URL`` whole; this one also masks passwords inside every setting and local
    variable it shows."""

    def cleanse_setting(self, key, value):
        value = super().cleanse_setting(key, value)
        return mask_secrets(value) if isinstance(value, str) else value

    def get_traceback_frame_variables(self, request, tb_frame):
        return [
            (name, mask_secrets(value) if isinstance(value, str) else value)
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]


class ExceptionReporter(debug.ExceptionReporter):
    """Error pages and reports with passwords masked in the exception's message too."""

    def get_traceback_data(self):
        data = super().get_traceback_data()
        if isinstance(data.get("exception_value"), str):
            data["exception_value"] = mask_secrets(data["exception_value"])
        return data
