"""Benchmark decontamination: n-gram hashing, the benchmark index, benchmark files."""
