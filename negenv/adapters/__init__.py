"""Thin adapters to RL frameworks; each imports its framework only when used."""
