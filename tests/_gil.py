"""Whether a call releases the GIL: the one helper the suites share."""

import sys
import threading
import time


def runs_beside(call, times=10, window=0.0):
    """How many times another Python thread ran while ``call`` ran, at least
    ``times`` times and for at least ``window`` seconds.

    The switch interval is made long, so that a call holding the GIL keeps
    every other thread out of the interpreter for the whole window; a
    counting thread (which lets the GIL go after each count) shows whether
    it got in while the calls ran.
    """
    stamps, stop = [], threading.Event()

    def count():
        while not stop.is_set():
            stamps.append(time.perf_counter())
            time.sleep(0)                # lets the GIL go: the caller takes it back

    interval = sys.getswitchinterval()
    counter = threading.Thread(target=count)
    counter.start()
    try:
        while not stamps:                # the counter is running
            time.sleep(0.001)
        sys.setswitchinterval(10.0)
        time.sleep(0.001)                # the counter waits for the GIL, not the CPU
        start = time.perf_counter()
        calls = 0
        while calls < times or time.perf_counter() - start < window:
            call()
            calls += 1
        end = time.perf_counter()
    finally:
        sys.setswitchinterval(interval)
        stop.set()
        counter.join()
    return sum(start < t < end for t in stamps)
