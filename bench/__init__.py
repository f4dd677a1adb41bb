"""`make bench`: performance figures of the whole stack, as ratios to ceilings measured in the same run."""
