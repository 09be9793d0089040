"""Benchmarks of Gigalis NMS at the scale of a large regional network: `python -m bench.run`."""


class BenchFailure(RuntimeError):
    """A step of the benchmark could not run; the message says which and why."""
