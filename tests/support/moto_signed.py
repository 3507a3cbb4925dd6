"""moto_server with its signature check made exact, for tests/s3.rs.

moto checks SigV4 signatures when INITIAL_NO_AUTH_ACTION_COUNT is set, but it
rebuilds the canonical query string from a URL that werkzeug has already
decoded: `prefix=news%2F` is signed by every client (botocore, object_store)
as `prefix=news%2F` and recomputed by moto as `prefix=news/`, so a correctly
signed listing under a prefix is refused (moto 5.2: SignatureDoesNotMatch
for boto3 too). This launcher hands moto's check the query string as it
arrived (WSGI's QUERY_STRING) and changes nothing else, then runs
moto_server with the given arguments.
"""

import sys
from urllib.parse import urlparse, urlunparse

from moto.core import authorization
from moto.core.responses import BaseResponse
from moto.server import main

_setup = BaseResponse.setup_class
_check = authorization.ActionAuthenticatorMixin._authenticate_and_authorize_action


def setup_class(self, request, *args, **kwargs):
    # moto 5.2.5 calls it with the request alone (the URL and headers are
    # the request's), older versions with them too: pass on what came.
    _setup(self, request, *args, **kwargs)
    environ = getattr(request, "environ", None) or {}
    self._raw_query = environ.get("QUERY_STRING")


def check(self, iam_request_cls, resource="*"):
    raw = getattr(self, "_raw_query", None)
    if not raw:
        return _check(self, iam_request_cls, resource)
    uri = self.uri
    self.uri = urlunparse(urlparse(uri)._replace(query=raw))
    try:
        return _check(self, iam_request_cls, resource)
    finally:
        self.uri = uri


BaseResponse.setup_class = setup_class
authorization.ActionAuthenticatorMixin._authenticate_and_authorize_action = check

if __name__ == "__main__":
    main(sys.argv[1:])
