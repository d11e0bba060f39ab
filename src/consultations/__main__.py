"""Allow ``python -m consultations``."""

from consultations.entrypoints.cli import main

main()
