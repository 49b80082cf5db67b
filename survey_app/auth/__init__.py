"""Staff accounts, roles and the checks every staff page makes."""
