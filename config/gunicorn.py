"""gunicorn's settings for KYC Desk, given with `-c python:config.gunicorn` (docs/operations.md).

Every URL gunicorn logs is redacted as config/request_log.py says: the access log's request line,
path, query and referer, the redirect target (`Location`: the provider's hosted flow), and the
error log's "Error handling request <uri>" and debug request lines. Credentials in headers
(cookies, API keys, Veriff's X-AUTH-CLIENT) are blanked, should an access log format name them.
Everything else (bind, workers, log files) stays on the command line.
"""

from gunicorn import glogging

from config.request_log import REDACTED, RedactUrls, redact_query, redact_text, redact_url

# Access-log atoms (gunicorn.glogging.Logger.atoms): "r" the request line, "U" the path, "q" the
# query, "f" the referer; request headers are "{name}i", response headers "{name}o", WSGI environ
# variables "{name}e", all lower case.
_URL_ATOMS = {
    "r": redact_text,
    "U": redact_url,
    "q": redact_query,
    "f": redact_url,
    "{referer}i": redact_url,
    "{location}o": redact_url,
    "{content-location}o": redact_url,
    "{raw_uri}e": redact_url,
    "{path_info}e": redact_url,
    "{request_uri}e": redact_url,
    "{query_string}e": redact_query,
    "{http_referer}e": redact_url,
}
_SECRET_ATOMS = frozenset(
    {
        "{authorization}i",
        "{proxy-authorization}i",
        "{cookie}i",
        "{x-auth-client}i",
        "{set-cookie}o",
        "{http_authorization}e",
        "{http_proxy_authorization}e",
        "{http_cookie}e",
        "{http_x_auth_client}e",
    }
)


class RedactingLogger(glogging.Logger):
    """gunicorn's logger with every URL and credential it would write redacted."""

    def setup(self, cfg):
        super().setup(cfg)
        # setup() runs again when gunicorn reloads: one filter is enough.
        if not any(isinstance(f, RedactUrls) for f in self.error_log.filters):
            self.error_log.addFilter(RedactUrls())

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key, redact in _URL_ATOMS.items():
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        for key in _SECRET_ATOMS.intersection(atoms):
            atoms[key] = REDACTED
        return atoms


logger_class = RedactingLogger
