"""What-if scenarios, the seeded day generator, comparisons and executors."""
