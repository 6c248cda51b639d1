"""gunicorn settings for the portal: `gunicorn -c gunicorn.conf.py wsgi:app`.

Access lines go to stdout through wallet.logs.GunicornLogger, which replaces wallet-link
tokens, BrandPay codes, paymentKeys and other bearer values with [redacted] (issue 13,
L4). Workers, threads and the bind address stay command-line options.
"""

accesslog = "-"
logger_class = "wallet.logs.GunicornLogger"
