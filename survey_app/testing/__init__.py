"""Stand-ins for the outside world shared by the tests and the benchmarks (``bench/``).

Never imported by the service itself; the modules need the ``dev`` extras (aiosmtpd).
"""
