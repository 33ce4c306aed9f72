"""Write side: documents -> structure -> passages -> vectors -> a build in the index folder.
Imports core/ only; never search/, workshop/ or ui/."""
from .build import BuildReport, Event, Skipped, build_index
from .steps import BuildProgress

__all__ = ["BuildProgress", "BuildReport", "Event", "Skipped", "build_index"]
