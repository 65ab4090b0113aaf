import logging
import re


class RedactActivationTokens(logging.Filter):
    """Activation links carry their token in the URL path, and so did undo links mailed
    before it moved to the fragment (their path still answers); keep it out of request logs
    (Django logs refused links as 400s, runserver logs every request)."""

    token_in_path = re.compile(r"(/accounts/(?:activate|email/undo)/)(?!resend/|sent/)[^/\s\"?]+")

    def filter(self, record):
        message = record.getMessage()
        redacted = self.token_in_path.sub(r"\1[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
