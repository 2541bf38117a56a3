"""What leaves the process about it, with secrets masked: log lines, error pages and reports.

``masking`` removes database passwords from any text; ``logs`` renders JSON lines or plain text
through it; ``reporting`` is Django's error page and report with the same masking. Every message
that may quote a database URL or an error's text goes through ``mask_secrets``.
"""
