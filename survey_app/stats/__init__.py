"""Reads every other module to deliver STAR's dataset and statistics; nothing imports it."""
