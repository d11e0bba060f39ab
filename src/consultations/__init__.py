"""consultations: an event-sourced scheduling backend for bilateral cooperation."""

__version__ = "0.1.0"
