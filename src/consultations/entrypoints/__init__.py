"""Entry points: the command line (and later the HTTP server and the daemon)."""
