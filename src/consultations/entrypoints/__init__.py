"""Entry points: the command line, the feed server (``web``) and the scheduler daemon."""
