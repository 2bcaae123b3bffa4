"""Performance benchmarks (issue 6): scripts that print their figures beside the targets."""
