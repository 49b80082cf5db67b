"""Organisations (STAR and partner job databases) and their brands."""
