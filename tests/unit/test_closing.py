"""The server's closing: listeners hear it once, late subscribers at once, and announcing
never waits, since it runs inside a signal handler that may interrupt a subscriber."""

import threading

from interfaces.http.closing import Closing


def test_listeners_hear_the_announcement_and_late_ones_at_once() -> None:
    closing = Closing()
    heard: list[str] = []
    closing.subscribe(lambda: heard.append("early"))
    unsubscribe = closing.subscribe(lambda: heard.append("gone"))
    unsubscribe()
    assert not closing.announced
    closing.announce()
    assert closing.announced
    closing.subscribe(lambda: heard.append("late"))
    assert heard == ["early", "late"]


def test_announcing_does_not_wait_for_a_subscriber_in_progress() -> None:
    closing = Closing()
    heard = threading.Event()
    closing.subscribe(heard.set)
    with closing._lock:  # a subscribe or unsubscribe the signal interrupted
        announcer = threading.Thread(target=closing.announce)
        announcer.start()
        announcer.join(timeout=5)
        assert not announcer.is_alive(), "announce waited on the subscribers' lock"
    assert heard.is_set()
