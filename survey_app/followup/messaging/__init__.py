"""Invitations and reminders by e-mail, SMS and letter: an outbox in the database, sent by jobs."""
