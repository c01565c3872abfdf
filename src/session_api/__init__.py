"""Session API: coaching sessions within each coachee's monthly allowance."""
