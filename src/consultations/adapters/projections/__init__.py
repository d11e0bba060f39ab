"""Read models kept up to date in the append transaction, and rebuilt from the log on demand."""

from consultations.adapters.projections.runner import (
    ProjectionStatus,
    Projector,
    default_projections,
)

__all__ = ["ProjectionStatus", "Projector", "default_projections"]
