"""Write side: documents -> structure -> passages -> vectors -> a build in the index folder.
Imports core/ only; never search/, workshop/ or ui/."""
from .build import BuildReport, Event, Skipped, build_index

__all__ = ["BuildReport", "Event", "Skipped", "build_index"]
