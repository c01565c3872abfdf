"""Thin routers: parse, call one service, shape the answer."""
