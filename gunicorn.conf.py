"""gunicorn settings for the portal: `gunicorn -c gunicorn.conf.py wsgi:app`.

Access lines go to stdout through wallet.logs.GunicornLogger, which replaces wallet-link
tokens, BrandPay codes, paymentKeys and other bearer values with [redacted] (issue 13,
L4). Workers, threads and the bind address stay command-line options.
"""

import gc

accesslog = "-"
logger_class = "wallet.logs.GunicornLogger"


def post_worker_init(worker: object) -> None:
    """Move the loaded app's objects (the app, its compiled routes, SQLAlchemy's and
    Babel's tables: ~170k tracked objects) out of the collector's reach once the worker
    has loaded it (issue 16): a full collection walked them all, measured at 285 and
    412 ms with every thread of the worker stopped, under the bench's paired load.
    Requests' own garbage is collected as before."""
    gc.collect()
    gc.freeze()
