"""Entry point of this plugin. It registers nothing yet; its hooks arrive with its issue."""
