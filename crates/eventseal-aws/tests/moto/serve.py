"""moto's standalone server for eventseal's AWS tests (started by tests/common/moto.rs).

It is `moto_server` with one difference: each request runs under one lock. moto 5.2.5's
threaded server does not serialise conditional writes on one key across concurrent requests
(two `PutItem`s with `attribute_not_exists(id)` can both succeed), which real DynamoDB does;
the racing-process tests need that guarantee, and the lock gives it. Nothing else changes.

Usage: python serve.py PORT
"""

import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def main() -> None:
    port = int(sys.argv[1])
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialised(environ, start_response):
        with lock:
            result = app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()

    run_simple(
        "127.0.0.1",
        port,
        serialised,
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
