"""The API as ``gigalis serve`` runs it, for the benchmark to call: one uvicorn process on
127.0.0.1, over a database already migrated and loaded.

    GIGALIS_DATABASE_URL=… GIGALIS_SECRET_KEY=… python -m bench.serve PORT

Settings come from the environment, as for the service; nothing is loaded or migrated here.
"""

from __future__ import annotations

import sys

from gigalis_nms.console import engine_for
from gigalis_nms.service import serve_api
from gigalis_nms.settings import Settings


def main() -> None:
    port = int(sys.argv[1])
    settings = Settings()
    # The same call as `gigalis serve` makes once the database is ready, on loopback only.
    serve_api(settings, engine_for(settings), host="127.0.0.1", port=port)


if __name__ == "__main__":
    main()
