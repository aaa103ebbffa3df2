"""Thin adapters: translate platform events to core Incoming messages and core Replies back."""
