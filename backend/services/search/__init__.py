"""Finding a therapist, one module per job: `filters` (what a search may ask for),
`ranking` (the search itself), `slots` (free times) and `profiles`."""

from backend.services.search.filters import Query, parse_filters, vocabulary
from backend.services.search.profiles import profile
from backend.services.search.ranking import Match, PaidBy, SearchResult, search
from backend.services.search.slots import free_slots, is_free_slot

__all__ = ["Match", "PaidBy", "Query", "SearchResult",
           "free_slots", "is_free_slot", "parse_filters", "profile", "search", "vocabulary"]
