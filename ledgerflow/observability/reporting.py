"""Error pages and error reports without database passwords."""

from django.views import debug
from django.views.debug import SafeExceptionReporterFilter

from ledgerflow.observability.masking import mask_secrets


class _Shown:
    """A local variable as the error page shows it: Django's reporter renders each value with
    ``pprint``, which uses ``repr``; this one is the already masked ``repr`` of the value."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text

    __str__ = __repr__  # how the page shows an exception's cause (always true, as it was)


class ExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter hides settings named like secrets (``DATABASES``' ``PASSWORD``) but shows
    ``DATABASE_URL`` whole; this one also masks passwords inside every setting and local
    variable it shows."""

    def cleanse_setting(self, key, value):
        value = super().cleanse_setting(key, value)
        return mask_secrets(value) if isinstance(value, str) else value

    def get_traceback_frame_variables(self, request, tb_frame):
        # Locals are not only strings: psycopg's conn_params dict, lists of URLs, exceptions
        # whose message holds the URL. cleanse_setting hides password-like keys of nested dicts;
        # the repr of whatever else remains is masked as text.
        return [
            (name, self._shown(self.cleanse_setting(name, value)))
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]

    @staticmethod
    def _shown(value):
        if isinstance(value, str):
            return mask_secrets(value)
        try:
            text = repr(value)
        except Exception as exc:  # a broken __repr__ must not break the error page
            text = f"<{type(value).__name__}: repr() raised {type(exc).__name__}>"
        return _Shown(mask_secrets(text))


class ExceptionReporter(debug.ExceptionReporter):
    """Error pages and reports with passwords masked in the exception's message too."""

    def get_traceback_data(self):
        data = super().get_traceback_data()
        if isinstance(data.get("exception_value"), str):
            data["exception_value"] = mask_secrets(data["exception_value"])
        for frame in data.get("frames", []):
            # Django prints the cause's message as is ("The above exception (…) was the direct
            # cause"): psycopg's error under a wrapping one can hold the password.
            if frame.get("exc_cause") is not None:
                frame["exc_cause"] = _Shown(mask_secrets(str(frame["exc_cause"])))
        return data
