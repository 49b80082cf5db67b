"""Infrastructure every feature module shares: config, database, queue, i18n, branding, audit."""
