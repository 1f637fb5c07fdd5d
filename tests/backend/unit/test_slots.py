from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from backend.domain.slots import Window, is_slot_start, slot_starts

LONDON = ZoneInfo("Europe/London")


def test_slots_start_on_the_hour_and_fit_the_window():
    windows = [Window(weekday=1, start_minute=17 * 60 + 30, end_minute=20 * 60)]  # Tue 17:30-20
    start = datetime(2026, 12, 1, tzinfo=timezone.utc)  # a Tuesday, GMT
    end = datetime(2026, 12, 9, tzinfo=timezone.utc)
    slots = list(slot_starts(windows, start=start, end=end, zone=LONDON, session_minutes=50))
    assert [s.isoformat() for s in slots] == [
        "2026-12-01T18:00:00+00:00",
        "2026-12-01T19:00:00+00:00",
        "2026-12-08T18:00:00+00:00",
        "2026-12-08T19:00:00+00:00",
    ]
    assert is_slot_start(windows, slots[0], zone=LONDON, session_minutes=50)
    assert not is_slot_start(windows, slots[0].replace(minute=30), zone=LONDON,
                             session_minutes=50)


def test_local_time_is_kept_across_the_clock_change():
    windows = [Window(weekday=0, start_minute=9 * 60, end_minute=10 * 60)]
    summer = list(slot_starts(windows, start=datetime(2026, 7, 6, tzinfo=timezone.utc),
                              end=datetime(2026, 7, 7, tzinfo=timezone.utc), zone=LONDON,
                              session_minutes=50))
    assert [s.hour for s in summer] == [8]  # 09:00 BST is 08:00 UTC
