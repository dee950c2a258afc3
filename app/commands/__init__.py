"""One module per CLI subcommand. Each exposes `register(subparsers)` and `run(args) -> int`.

Exit codes: 0 success, 1 a gate or check failed, 2 bad input (one-line error on stderr).
"""
