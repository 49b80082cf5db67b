"""Privacy rules: the notice shown before the questions and the privacy notice pages."""
