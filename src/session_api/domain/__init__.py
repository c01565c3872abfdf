"""Pure, synchronous rules: months, quota, default slot, availability."""
