"""Training tasks built on compiled vector fields."""
