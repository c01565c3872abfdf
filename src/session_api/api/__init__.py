"""HTTP routers and their schemas."""
